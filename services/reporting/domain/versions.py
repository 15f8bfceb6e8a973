"""An agency's registry record as bitemporal versions: what a fold would hold for it as of any
day (by occurrence) and any recording instant, without folding (issue 12: any as-of date).

A version is the agency's view (state.AgencyView) valid from one day to another (the view at
the end of each day in between) and known from one recording instant to another. An agency's
view is the fold of its own agency facts alone (state.AGENCY_FACTS), so its versions are a
function of those facts: recomputed whole whenever one of them arrives, late ones included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby

from socialwork_contracts.base import DomainEvent

from services.reporting.domain.state import AgencyView, CityState, apply_event

# One agency fact: the event, the day it takes effect, the instant it was recorded.
AgencyFact = tuple[DomainEvent, dt.date, dt.datetime]
_Segment = tuple[dt.date, dt.date | None, AgencyView]  # valid from, valid to (exclusive), view


@dataclass(frozen=True, slots=True)
class AgencyVersion:
    view: AgencyView
    valid_from: dt.date
    valid_to: dt.date | None  # exclusive; None: to this day
    recorded_from: dt.datetime
    recorded_to: dt.datetime | None  # exclusive; None: still what is known


def agency_versions(facts: Sequence[AgencyFact]) -> list[AgencyVersion]:
    """One agency's versions from its agency facts given in fold order (state.sort_key).

    For each instant a fact was recorded at, the timeline of the facts known by then; a
    segment unchanged from one instant to the next stays one version (most agencies: one).
    """
    since: dict[_Segment, dt.datetime] = {}  # segments of the timeline known now
    versions: list[AgencyVersion] = []
    scratch = CityState()  # one for every timeline: a CityState costs more than a fold of a few
    for instant in sorted({recorded for _, _, recorded in facts}):
        timeline = set(_timeline(scratch, [(e, day) for e, day, r in facts if r <= instant]))
        for segment in [s for s in since if s not in timeline]:
            versions.append(_version(segment, since.pop(segment), instant))
        for segment in timeline:
            since.setdefault(segment, instant)
    versions.extend(_version(segment, start, None) for segment, start in since.items())
    return sorted(versions, key=lambda v: (v.recorded_from, v.valid_from))


def _version(segment: _Segment, start: dt.datetime, end: dt.datetime | None) -> AgencyVersion:
    valid_from, valid_to, view = segment
    return AgencyVersion(view, valid_from, valid_to, start, end)


def current(versions: Iterable[AgencyVersion]) -> dict[str, AgencyView]:
    """Each agency's view now (the fold of all its facts): its open version, if any."""
    return {v.view.uscc: v.view for v in versions if v.valid_to is None and v.recorded_to is None}


def _timeline(state: CityState, facts: list[tuple[DomainEvent, dt.date]]) -> Iterator[_Segment]:
    """The view at the end of each day, as segments of days with one view (none: absent).
    Only `state.agencies` is used (agency facts touch nothing else); it starts empty."""
    state.agencies.clear()
    current: AgencyView | None = None
    start = dt.date.min
    for day, same_day in groupby(facts, key=lambda fact: fact[1]):
        for event, _ in same_day:
            apply_event(state, event, day)
        view = next(iter(state.agencies.values()), None)  # one agency's facts: one entry
        if view != current:
            if current is not None:
                yield (start, day, current)
            current, start = view, day
    if current is not None:
        yield (start, None, current)
