"""Each report as a pure function of a folded state and its query: the JSON body and table rows.

Run in the fold worker process (foldworker.py), so a route only checks the caller and formats;
`ReportQuery` is hashable, so an answer is cached by (generation, query) and reused while no
newly applied fact falls within the query's as-of cut-off (cache.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from services.reporting.domain import operations, reports
from services.reporting.domain.periods import Half, report_period
from services.reporting.domain.state import AgencyView, CityState, Listing
from services.reporting.domain.targets import TargetOptions, base_local_agencies, targets

Kind = Literal["targets", "half_year", "coverage", "trends", "credit_listings", "bases"]
Rows = list[dict[str, Any]]

LIST_ZH = {"abnormal": "活动异常名录", "serious": "严重违法失信名单"}
STATUS_ZH = {"met": "已完成", "missed": "未完成（已逾期）", "in_progress": "推进中"}


@dataclass(frozen=True)
class ReportQuery:
    kind: Kind
    day: dt.date  # as of this local date by occurrence (the half-year report: its period end)
    recorded_until: dt.datetime | None  # by recording: facts recorded by this instant only
    recorded_text: str | None  # echoed in the body as the caller wrote it
    scope: str | None = None  # one unit, or None for every unit
    year: int = 0
    half: Half = "mid_year"
    include_removed: bool = False


@dataclass(frozen=True)
class Rendered:
    body: dict[str, Any]
    rows: Rows  # the table of CSV and Excel exports
    # The response's content by format, encoded once in the service (api/common.py): an
    # answer never changes, and an Excel file took openpyxl 0.1-0.3 s a request (issue 12).
    encoded: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)


def by_unit(state: CityState) -> dict[str, CityState]:
    """The state split by reporting unit the way `reports.figures` filters it (bases and
    agencies by their unit, incubations, funding and trainings by their base's, supervision
    records by their agency's), so a unit's figures read its share instead of the whole city:
    `figures(by_unit(s)[u], p, None) == figures(s, p, u)`; the city report took 17 full scans.
    """
    parts: dict[str, CityState] = {}

    def part(unit: str) -> CityState:
        found = parts.get(unit)
        if found is None:
            found = parts[unit] = CityState()
        return found

    _split_incubation(state, part)
    _split_supervision(state, part)
    for record in state.operations:  # issue 11's facts: by base, else by agency
        part(operations.unit_of(state, record)).operations.append(record)
    return parts


def _split_incubation(state: CityState, part: Callable[[str], CityState]) -> None:
    """Agencies and bases by their own unit; stays, funding and trainings by their base's."""
    for uscc, agency in state.agencies.items():
        part(agency.reporting_unit).agencies[uscc] = agency
    for base_id, base in state.bases.items():
        part(base.reporting_unit).bases[base_id] = base
    for key, incubation in state.incubations.items():
        part(state.unit_of_base(incubation.base_id)).incubations[key] = incubation
    for unit, funding in state.funding.split(state.unit_of_base, "base_id").items():
        part(unit).funding = funding
    for unit, trainings in state.trainings.split(state.unit_of_base, "base_id").items():
        part(unit).trainings = trainings


def _split_supervision(state: CityState, part: Callable[[str], CityState]) -> None:
    """Supervision's records by their agency's unit."""
    for unit, inspections in state.inspections.split(state.unit_of_agency, "uscc").items():
        part(unit).inspections = inspections
    for key, violation in state.violations.items():
        part(state.unit_of_agency(violation.uscc)).violations[key] = violation
    for key, rectification in state.rectifications.items():
        part(state.unit_of_agency(rectification.uscc)).rectifications[key] = rectification
    for key, listing in state.listings.items():
        part(state.unit_of_agency(listing.uscc)).listings[key] = listing
    for follow_up in state.follow_ups:
        part(state.unit_of_agency(follow_up.uscc)).follow_ups.append(follow_up)


def render(
    state: CityState,
    query: ReportQuery,
    options: TargetOptions,
    units: Callable[[], dict[str, CityState]] | None = None,
) -> Rendered:
    """The answer to one report query from the state folded as of its cut-off.

    `units` gives `by_unit(state)`, computed once per state by the caller that keeps it.
    """
    day, recorded = query.day, query.recorded_text
    match query.kind:
        case "targets":
            body = targets(state, day, options)
            body["recorded_until"] = recorded
            rows = [
                {**t, "missing": t.get("missing", t.get("missing_count"))} for t in body["targets"]
            ]
            return Rendered(body, rows)
        case "half_year":
            return _half_year(state, query, units or (lambda: by_unit(state)))
        case "coverage":
            return coverage(reports.coverage_counts(state.agencies.values()), query)
        case "trends":
            trend_rows: Rows = list(reports.trends(state, day))
            return Rendered(_listing_body(day, recorded, trend_rows), trend_rows)
        case "credit_listings":
            return credit_listings(state.listings.values(), state.agencies, query)
        case "bases":
            rows = [
                r
                for r in base_local_agencies(state, day)
                if query.scope is None or r["reporting_unit"] == query.scope
            ]
            table = [{**r, "status": STATUS_ZH.get(r["status"], r["status"])} for r in rows]
            return Rendered(_listing_body(day, recorded, rows), table)


def coverage(counts: reports.Coverage, query: ReportQuery) -> Rendered:
    """The coverage answer from its counts: a folded state's, or the agency versions'
    (readmodel.coverage_counts) without a fold."""
    rows = reports.coverage_rows(counts, [query.scope] if query.scope else reports.unit_ids())
    return Rendered(_listing_body(query.day, query.recorded_text, rows), rows)


def credit_listings(
    listings: Iterable[Listing], agencies: Mapping[str, AgencyView], query: ReportQuery
) -> Rendered:
    """The credit lists from the listings of the cut-off and the listed agencies' views there:
    a folded state's, or the versions' (readmodel_listings.listings_at) without a fold."""
    rows = [
        r
        for r in reports.credit_listings(listings, agencies, include_removed=query.include_removed)
        if query.scope is None or r["reporting_unit"] == query.scope
    ]
    table = [{**r, "list": LIST_ZH.get(str(r["list"]), r["list"])} for r in rows]
    return Rendered(_listing_body(query.day, query.recorded_text, rows), table)


def _listing_body(day: dt.date, recorded: str | None, rows: Rows) -> dict[str, Any]:
    return {"as_of": day.isoformat(), "recorded_until": recorded, "rows": rows}


HALF_COLUMNS = (
    ("reporting_unit", "统计单位代码"),
    ("unit_name", "统计单位"),
    *reports.FIGURE_COLUMNS,
)


def half_year_title(year: int, half: Half) -> tuple[str, str]:
    half_zh = "年中" if half == "mid_year" else "年终"
    return half_zh, f"{year} 年{half_zh}报告"


def _half_year(
    state: CityState, query: ReportQuery, units: Callable[[], dict[str, CityState]]
) -> Rendered:
    period = report_period(query.year, query.half)
    parts = units()
    rows: Rows = [
        {
            "reporting_unit": u,
            "unit_name": reports.unit_name(u),
            **reports.figures(parts.get(u) or CityState(), period, None),
        }
        for u in ([query.scope] if query.scope else reports.unit_ids())
    ]
    city = None
    if query.scope is None:
        city = {
            "reporting_unit": "city",
            "unit_name": "全市合计",
            **reports.figures(state, period, None),
        }
    _, title = half_year_title(query.year, query.half)
    body = {
        "year": query.year,
        "half": query.half,
        "title": title,
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "recorded_until": query.recorded_text,
        "columns": dict(HALF_COLUMNS),
        "sections": reports.SECTIONS,  # what each part counts, and by which date
        "city": city,
        "units": rows,
    }
    return Rendered(body, [*rows, *([city] if city else [])])
