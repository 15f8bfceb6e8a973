"""The half-year figures kept beside a state at a half-year's end (readmodel.HalfYearKept): made
by a fold as it keeps the state, read by the service with no fold (docs/reporting.md)."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from services.reporting import views
from services.reporting.domain import operations, records, reports, tally
from services.reporting.domain import state as folding
from services.reporting.domain.periods import Period, half_ending, report_period
from services.reporting.domain.state import AgencyView, CityState
from services.reporting.views import Rendered, ReportQuery


@functools.cache
def half_year_layout() -> str:
    """What kept figures were computed by (readmodel.kept_half_year): a build whose figures'
    code differs reads none of them, and folds instead. The code that makes and reads them
    alone: a change to how answers are rendered (views.py) keeps them. Read once, when first
    asked (not at import)."""
    return hashlib.sha256(
        b"".join(
            Path(module.__file__ or "").read_bytes()
            for module in (reports, operations, tally, records, folding)
        )
        + Path(__file__).read_bytes()
    ).hexdigest()[:16]


def kept_half_year(
    state: CityState, day: dt.date, after: dt.datetime | None, late: Mapping[str, dt.datetime]
) -> tuple[str, str] | None:
    """The figures by unit of the half-year report ending on `day` (None: none ends on it) as
    JSON text, to keep with the state as of that day: its answers by occurrence need no fold.
    Beside them (JSON, read by `late_at`), the agencies with agency facts recorded `after` the
    latest recording of the state's other facts (`late`: each one's latest), with what each one's
    records add: an answer by a recording cut-off between the two needs no fold either."""
    ending = half_ending(day)
    if ending is None:
        return None
    period = report_period(*ending)
    figures = reports.half_year_figures(state, period)
    added = reports.agency_records(state, period, late)
    kept_late = {
        "after": None if after is None else after.isoformat(),
        "agencies": {uscc: [at.isoformat(), added.get(uscc, {})] for uscc, at in late.items()},
    }
    return _json(figures), _json(kept_late)


def periods_holding(day: dt.date) -> list[Period]:
    """The half-year periods holding `day` before their last day, whose reports by a recording
    cut-off at `day`'s end are kept (`recorded_half_years`): the year-end's, and the mid-year's
    in the first half. From the last day on, a period's are read from its end's kept state."""
    return [
        period
        for period in (report_period(day.year, "mid_year"), report_period(day.year, "year_end"))
        if period.start <= day < period.end
    ]


def recorded_half_years(state: CityState, day: dt.date) -> list[tuple[dt.date, str]]:
    """The figures by unit (JSON, read by `from_kept`) of each period `periods_holding` names,
    of the state folded from every fact recorded by the end of `day` (readmodel_recorded.py)."""
    return [
        (period.end, _json(reports.half_year_figures(state, period)))
        for period in periods_holding(day)
    ]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Late(NamedTuple):
    """The agencies with agency facts of a kept state recorded after a cut-off (`late_at`)."""

    usccs: list[str]
    records: dict[str, reports.AgencyRecords]  # what each one's records add (those that do)


def late_at(kept: str | None, recorded: dt.datetime) -> Late | None:
    """The agencies with agency facts recorded after `recorded` among those kept beside the
    figures (`kept_half_year`); None unless every such agency is among them (a cut-off before
    the latest recording of the state's other facts: its records differ too; the figures are
    then folded)."""
    if kept is None:
        return None
    found = json.loads(kept)
    after = found["after"]
    if after is not None and recorded < dt.datetime.fromisoformat(after):
        return None
    late = Late([], {})
    for uscc, (at, added) in found["agencies"].items():
        if dt.datetime.fromisoformat(at) > recorded:
            late.usccs.append(uscc)
            if added:
                late.records[uscc] = added
    return late


def from_kept(
    figures: str,
    query: ReportQuery,
    late: Late | None = None,
    now: Mapping[str, AgencyView] | None = None,
    then: Mapping[str, AgencyView] | None = None,
) -> Rendered:
    """The half-year answer from figures `kept_half_year` made; with `late`, by a recording
    cut-off those agencies' facts were recorded after: their views in the kept state (`now`)
    and by the cut-off (`then`, where they have one)."""
    kept = json.loads(figures)
    if late is not None:
        period = report_period(query.year, query.half)
        kept = reports.late_shift(kept, period, late.records, now or {}, then or {})
    return views.half_year(kept, query)
