"""An entity's record as bitemporal versions: what a fold would hold for it as of any day (by
occurrence) and any recording instant, without folding (issue 12: any as-of date).

A version is the entity's view (an agency's `state.AgencyView`, a base's, a stay's ...) valid
from one day to another (the view at the end of each day in between) and known from one
recording instant to another. When the facts of one kind touch only their own entity's entry
in one table of the state (agencies: `state.AGENCY_FACTS`, tests/reporting/test_agency_facts.py),
an entity's view is the fold of its own facts alone, so its versions are a function of those
facts: recomputed whole whenever one of them arrives, late ones included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any, Generic, TypeVar

from socialwork_contracts import supervision as sup
from socialwork_contracts.base import DomainEvent

from services.reporting.domain.state import AgencyView, CityState, Listing, apply_event

# One fact of an entity: the event, the day it takes effect, the instant it was recorded.
EntityFact = tuple[DomainEvent, dt.date, dt.datetime]
AgencyFact = EntityFact  # the name the agency path has used
V = TypeVar("V")
# The state's table of one kind of entity (`state.agencies`, `state.bases` ...): the only one
# its facts write, each the entry of its own entity.
Table = Callable[[CityState], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Version(Generic[V]):
    view: V
    valid_from: dt.date
    valid_to: dt.date | None  # exclusive; None: to this day
    recorded_from: dt.datetime
    recorded_to: dt.datetime | None  # exclusive; None: still what is known


AgencyVersion = Version[AgencyView]


def entity_versions(facts: Sequence[EntityFact], table: Table) -> list[Version[Any]]:
    """One entity's versions from its facts given in fold order (state.sort_key), its view
    read from `table` of a scratch state.

    For each instant a fact was recorded at, the timeline of the facts known by then; a
    segment unchanged from one instant to the next stays one version (most entities: one).
    """
    since: dict[_Segment, dt.datetime] = {}  # segments of the timeline known now
    versions: list[Version[Any]] = []
    scratch = CityState()  # one for every timeline: a CityState costs more than a fold of a few
    for instant in sorted({recorded for _, _, recorded in facts}):
        known = [(e, day) for e, day, r in facts if r <= instant]
        timeline = set(_timeline(scratch, table, known))
        for segment in [s for s in since if s not in timeline]:
            versions.append(_version(segment, since.pop(segment), instant))
        for segment in timeline:
            since.setdefault(segment, instant)
    versions.extend(_version(segment, start, None) for segment, start in since.items())
    return sorted(versions, key=lambda v: (v.recorded_from, v.valid_from))


def agency_versions(facts: Sequence[AgencyFact]) -> list[AgencyVersion]:
    """One agency's versions from its agency facts (state.AGENCY_FACTS) in fold order."""
    return entity_versions(facts, _agencies)


def _agencies(state: CityState) -> dict[str, Any]:
    return state.agencies


# The facts of a credit listing: their handlers are the only ones that read or write
# `listings`, each only the entry of its own listing id (tests/reporting/test_agency_facts.py),
# so a listing's view is the fold of its own listing facts alone.
LISTING_FACTS: frozenset[type[DomainEvent]] = frozenset(
    {sup.AgencyListed, sup.AgencyDelisted, sup.ListingClockRestarted}
)
LISTING_TYPES: tuple[str, ...] = tuple(sorted(cls.event_type for cls in LISTING_FACTS))
ListingVersion = Version[Listing]


def listing_versions(facts: Sequence[EntityFact]) -> list[ListingVersion]:
    """One listing's versions from its listing facts (LISTING_FACTS) in fold order."""
    return entity_versions(facts, _listings)


def _listings(state: CityState) -> dict[str, Any]:
    return state.listings


_Segment = tuple[dt.date, dt.date | None, Any]  # valid from, valid to (exclusive), view


def _version(segment: _Segment, start: dt.datetime, end: dt.datetime | None) -> Version[Any]:
    valid_from, valid_to, view = segment
    return Version(view, valid_from, valid_to, start, end)


def open_views(versions: Iterable[Version[V]], key: Callable[[V], str]) -> dict[str, V]:
    """Each entity's view now (the fold of all its facts): its open version, if any."""
    return {key(v.view): v.view for v in versions if v.valid_to is None and v.recorded_to is None}


def current(versions: Iterable[AgencyVersion]) -> dict[str, AgencyView]:
    """Each agency's view now, by credit code."""
    return open_views(versions, lambda view: view.uscc)


def _timeline(
    state: CityState, table: Table, facts: list[tuple[DomainEvent, dt.date]]
) -> Iterator[_Segment]:
    """The view at the end of each day, as segments of days with one view (none: absent).
    Only `table(state)` is read (the kind's facts touch nothing else it reports); it starts
    empty."""
    entries = table(state)
    entries.clear()
    current: Any = None
    start = dt.date.min
    for day, same_day in groupby(facts, key=lambda fact: fact[1]):
        for event, _ in same_day:
            apply_event(state, event, day)
        view = next(iter(entries.values()), None)  # one entity's facts: one entry
        if view != current:
            if current is not None:
                yield (start, day, current)
            current, start = view, day
    if current is not None:
        yield (start, None, current)
