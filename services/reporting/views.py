"""Each report as a pure function of a folded state and its query: the JSON body and table rows.

Run in the fold worker process (foldworker.py), so a route only checks the caller and formats;
`ReportQuery` is hashable, so an answer is cached by (generation, query) and reused while no
newly applied fact falls within the query's as-of cut-off (cache.py).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from services.reporting.domain import reports
from services.reporting.domain.periods import Half, report_period
from services.reporting.domain.state import AgencyView, CityState, Listing
from services.reporting.domain.targets import (
    TargetInputs,
    TargetOptions,
    base_local_agencies,
    target_inputs,
    tracker,
)

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


def render(state: CityState, query: ReportQuery, options: TargetOptions) -> Rendered:
    """The answer to one report query from the state folded as of its cut-off."""
    day = query.day
    match query.kind:
        case "targets":
            return targets(target_inputs(state, day), query, options)
        case "half_year":
            return _half_year(state, query)
        case "coverage":
            return coverage(reports.coverage_counts(state.agencies.values()), query)
        case "trends":
            return trends(reports.trend_inputs(state), query)
        case "credit_listings":
            return credit_listings(state.listings.values(), state.agencies, query)
        case "bases":
            return bases(base_local_agencies(state, day), query)


def render_all(
    state: CityState, queries: Sequence[ReportQuery], options: TargetOptions
) -> list[Rendered]:
    """Each query's answer from the state folded as of their one cut-off. The half-year queries
    of a period asked more than once (the city's and units' report in progress, waiting on the
    live lane together) share one pass: every unit's figures, each answer its scope's rows."""
    asked = Counter((q.year, q.half) for q in queries if q.kind == "half_year")
    shared = {
        (year, half): reports.half_year_figures(state, report_period(year, half))
        for (year, half), n in asked.items()
        if n > 1
    }
    return [
        half_year(shared[q.year, q.half], q)
        if q.kind == "half_year" and (q.year, q.half) in shared
        else render(state, q, options)
        for q in queries
    ]


def coverage(counts: reports.Coverage, query: ReportQuery) -> Rendered:
    """The coverage answer from its counts: a folded state's, or the agency versions'
    (readmodel.coverage_counts) without a fold."""
    rows = reports.coverage_rows(counts, [query.scope] if query.scope else reports.unit_ids())
    return Rendered(_listing_body(query.day, query.recorded_text, rows), rows)


def targets(inputs: TargetInputs, query: ReportQuery, options: TargetOptions) -> Rendered:
    """The targets answer from its inputs: a folded state's or the versions' (no fold)."""
    body = tracker(inputs, query.day, options)
    body["recorded_until"] = query.recorded_text
    rows = [{**t, "missing": t.get("missing", t.get("missing_count"))} for t in body["targets"]]
    return Rendered(body, rows)


def trends(inputs: reports.TrendInputs, query: ReportQuery) -> Rendered:
    """The trends answer from its inputs: a folded state's or the versions' (no fold)."""
    rows: Rows = list(reports.trend_rows(inputs, query.day))
    return Rendered(_listing_body(query.day, query.recorded_text, rows), rows)


def bases(local: Rows, query: ReportQuery) -> Rendered:
    """`GET /reports/bases` from target 2's rows of every base (targets.local_incubation)."""
    rows = [r for r in local if query.scope is None or r["reporting_unit"] == query.scope]
    table = [{**r, "status": STATUS_ZH.get(r["status"], r["status"])} for r in rows]
    return Rendered(_listing_body(query.day, query.recorded_text, rows), table)


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


def _half_year(state: CityState, query: ReportQuery) -> Rendered:
    period = report_period(query.year, query.half)
    return half_year(reports.half_year_figures(state, period, query.scope), query)


def half_year(figures: Mapping[str, reports.Figures], query: ReportQuery) -> Rendered:
    """The half-year answer from its figures by unit (the city's under reports.CITY): a folded
    state's, or those kept with it (kept_figures.py; kept by an earlier build, a unit
    without any record may have none: its figures are zeros)."""
    period = report_period(query.year, query.half)
    rows: Rows = [
        {
            "reporting_unit": u,
            "unit_name": reports.unit_name(u),
            **(figures.get(u) or reports.half_year_figures(CityState(), period, u)[u]),
        }
        for u in ([query.scope] if query.scope else reports.unit_ids())
    ]
    city = None
    if query.scope is None:
        city = {"reporting_unit": reports.CITY, "unit_name": "全市合计", **figures[reports.CITY]}
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
