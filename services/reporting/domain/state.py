"""Fold facts (in effective order) into the state of the city's agencies, bases and credit files.

Facts from different services are not globally ordered on arrival; they are sorted by effective
date before folding and joined by id here, so an incubation seen before its agency's registration
still counts once both are known.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from socialwork_contracts import incubation as inc
from socialwork_contracts import registry as reg
from socialwork_contracts import supervision as sup
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.catalog import UnknownEventType, load

from services.reporting.domain import operations as ops
from services.reporting.domain.facts import Fact
from services.reporting.domain.records import Records

MIN_OFFICES = 3  # guidance §3.2: at least 3 offices
MIN_OFFICE_AREA = Decimal(15)  # guidance §3.2: each at least 15 m²


# Views have slots: a state folded from a million facts holds hundreds of thousands (RSS).
@dataclass(frozen=True, slots=True)
class AgencyView:
    uscc: str
    name: str
    kind: str
    reporting_unit: str
    registered_on: dt.date
    status: str  # active | suspended | deregistered | revoked
    status_since: dt.date
    priority: bool
    service_fields: tuple[str, ...]
    target_groups: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BaseView:
    base_id: str
    name: str
    level: str
    reporting_unit: str
    established_on: dt.date
    closed_on: dt.date | None
    meets_hardware_standard: bool
    offices: int = 0  # allottable: ≥ 15 m², not the shared room (one agency each)


@dataclass(frozen=True, slots=True)
class IncubationView:
    incubation_id: str
    base_id: str
    uscc: str
    started_on: dt.date
    term_end: dt.date
    local: bool
    graduated_on: dt.date | None = None
    terminated_on: dt.date | None = None
    termination_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Funding:
    base_id: str
    uscc: str
    support_type: str
    funding_type: str | None
    amount: Decimal
    given_on: dt.date


@dataclass(frozen=True, slots=True)
class Training:
    base_id: str
    held_on: dt.date
    hours: Decimal
    attendees: int


@dataclass(frozen=True, slots=True)
class Inspection:
    uscc: str
    year: int
    conclusion: str
    concluded_on: dt.date


@dataclass(frozen=True, slots=True)
class Violation:
    violation_id: str
    uscc: str
    category: str
    severity: str
    found_on: dt.date


@dataclass(frozen=True, slots=True)
class Rectification:
    rectification_id: str
    uscc: str
    violation_id: str
    ordered_on: dt.date
    deadline: dt.date
    confirmed_on: dt.date | None = None
    overdue_on: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Listing:
    listing_id: str
    uscc: str
    list: str
    ground: str
    listed_on: dt.date
    removed_on: dt.date | None = None
    removal_reason: str | None = None
    clock_from: dt.date | None = None  # a repeated ground restarts the listing clock


@dataclass(frozen=True, slots=True)
class FollowUp:
    uscc: str
    base_id: str | None
    conclusion: str
    evaluated_on: dt.date


# The field each kind of record is appended in the order of: a fold applies facts in effective
# order, and the effective date of the facts making these records is this field (their
# contract's domain date). A half-year reads its period's rows by binary search on it
# (Records.span; tests/reporting/test_half_year_walks.py checks the contracts).
DATED = {"funding": "given_on", "trainings": "held_on", "inspections": "concluded_on"}


@dataclass
class CityState:
    agencies: dict[str, AgencyView] = field(default_factory=dict)
    bases: dict[str, BaseView] = field(default_factory=dict)
    incubations: dict[str, IncubationView] = field(default_factory=dict)
    # Append-only records as columns (records.py): 40 of a 1M state's ~100 MB as objects.
    funding: Records[Funding] = field(default_factory=lambda: Records(Funding))
    trainings: Records[Training] = field(default_factory=lambda: Records(Training))
    inspections: Records[Inspection] = field(default_factory=lambda: Records(Inspection))
    violations: dict[str, Violation] = field(default_factory=dict)
    rectifications: dict[str, Rectification] = field(default_factory=dict)
    listings: dict[str, Listing] = field(default_factory=dict)
    penalties: dict[str, str] = field(default_factory=dict)  # penalty id -> kind
    follow_ups: list[FollowUp] = field(default_factory=list)
    # Issue 11's facts: base operation, services delivered, assistance, notices, annual reports.
    operations: list[ops.Record] = field(default_factory=list)


def agency_unit(agencies: Mapping[str, AgencyView], uscc: str) -> str:
    """An agency's reporting unit among these views; "unknown" if it is not among them."""
    agency = agencies.get(uscc)
    return agency.reporting_unit if agency is not None else "unknown"


@functools.lru_cache(maxsize=4096)
def decimal_of(text: str) -> Decimal:
    """One Decimal per distinct text: amounts and hours repeat (a Decimal is 104 bytes, and a
    million facts hold hundreds of thousands of them). Decimals are immutable; the text keeps
    "1.0" and "1.00" apart."""
    return Decimal(text)


_CODES: dict[tuple[str, ...], tuple[str, ...]] = {}


def codes(values: Iterable[str]) -> tuple[str, ...]:
    """One tuple per distinct list of codes (an agency's service fields, its target groups): at
    a million facts, 104k tuples of a few hundred distinct ones (5.6 MB of each fold worker's
    state). Tuples of strings are immutable: sharing is invisible."""
    found = tuple(map(sys.intern, values))
    return _CODES.setdefault(found, found)


def meets_hardware_standard(event: inc.BaseEstablished | inc.BaseFacilitiesUpdated) -> bool:
    """Guidance §3.2: ≥3 offices of ≥15 m² including a shared room, furniture, projector, fire."""
    big = [o for o in event.offices if Decimal(o.area_m2) >= MIN_OFFICE_AREA]
    return (
        len(big) >= MIN_OFFICES
        and any(o.shared_room for o in big)
        and event.has_desks_and_chairs
        and event.has_projector
        and event.fire_safety_compliant
    )


def allottable_offices(event: inc.BaseEstablished | inc.BaseFacilitiesUpdated) -> int:
    """Offices one agency may be given (§3.2, §5.3): ≥ 15 m² and not the shared room."""
    return sum(Decimal(o.area_m2) >= MIN_OFFICE_AREA and not o.shared_room for o in event.offices)


def sort_key(fact: Fact) -> tuple[dt.date, dt.datetime, dt.datetime, str]:
    return (fact.effective_on, fact.occurred_at, fact.recorded_at, fact.event_id)


def fold(facts: Iterable[Fact]) -> CityState:
    """The city's state after every given fact, applied in effective order."""
    state = CityState()
    for fact in sorted(facts, key=sort_key):
        apply(state, fact)
    return state


def apply(state: CityState, fact: Fact) -> None:
    try:
        event = load(fact.event_type, fact.event_version, fact.data)
    except UnknownEventType:
        return  # a type this build does not fold (added later by its producer)
    apply_event(state, event, fact.effective_on)


def apply_event(state: CityState, event: DomainEvent, day: dt.date) -> None:
    """One event (in its current version) taking effect on `day`.

    Dispatched on the event's class through a table: a 25-case class `match` cost one
    isinstance check on a pydantic class (≈1 µs) per case tried, most of a fold's time at a
    million facts (issue 12). Staff changes, grades and later additions have no entry: they do
    not change these reports.
    """
    handler = _handler(type(event))
    if handler is not None:
        handler(state, event, day)


Handler = Callable[[CityState, Any, dt.date], None]
_HANDLERS: dict[type[DomainEvent], Handler] = {}
_RESOLVED: dict[type[DomainEvent], Handler | None] = {}


def _handles(cls: type[DomainEvent]) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _HANDLERS[cls] = handler
        return handler

    return register


def _handler(cls: type[DomainEvent]) -> Handler | None:
    """The handler of a class or of its nearest registered base (a class pattern's reach)."""
    try:
        return _RESOLVED[cls]
    except KeyError:
        found = next((_HANDLERS[c] for c in cls.__mro__ if c in _HANDLERS), None)
        _RESOLVED[cls] = found
        return found


def folded_types() -> set[str]:
    """Event type names that change the state (the others are skipped unread)."""
    return {cls.event_type for cls in _HANDLERS}


@_handles(reg.AgencyRegistered)
def _registered(state: CityState, event: reg.AgencyRegistered, day: dt.date) -> None:
    state.agencies[event.uscc] = AgencyView(
        uscc=event.uscc,
        name=event.name,
        kind=event.kind,
        reporting_unit=event.reporting_unit,
        registered_on=event.registered_on,
        status="active",
        status_since=event.registered_on,
        priority=event.priority,
        service_fields=codes(event.service_fields),
        target_groups=codes(event.target_groups),
    )


@_handles(reg.AgencyProfileAmended)
def _amended(state: CityState, event: reg.AgencyProfileAmended, day: dt.date) -> None:
    if (a := state.agencies.get(event.uscc)) is not None:
        state.agencies[event.uscc] = replace(
            a,
            name=event.name or a.name,
            reporting_unit=event.reporting_unit or a.reporting_unit,
            priority=event.priority,
            service_fields=codes(event.service_fields)
            if event.service_fields is not None
            else a.service_fields,
            target_groups=codes(event.target_groups)
            if event.target_groups is not None
            else a.target_groups,
        )


@_handles(reg.AgencySuspended)
def _suspended(state: CityState, event: reg.AgencySuspended, day: dt.date) -> None:
    _status(state, event.uscc, "suspended", day)


@_handles(reg.AgencyReinstated)
def _reinstated(state: CityState, event: reg.AgencyReinstated, day: dt.date) -> None:
    _status(state, event.uscc, "active", day)


@_handles(reg.AgencyDeregistered)
def _deregistered(state: CityState, event: reg.AgencyDeregistered, day: dt.date) -> None:
    _status(state, event.uscc, "deregistered", day)


@_handles(reg.AgencyRegistrationRevoked)
def _revoked(state: CityState, event: reg.AgencyRegistrationRevoked, day: dt.date) -> None:
    _status(state, event.uscc, "revoked", day)


# The facts of an agency's registry record: their handlers (above) are the only ones that read
# or write `agencies`, each only the entry of the fact's own credit code, so an agency's view
# is the fold of its own agency facts alone. A state can then drop facts of some agencies by
# folding those agencies again (`refold_agencies`): a kept state serves a by-recording cut-off
# that excludes some of its late registrations (foldworker.py).
AGENCY_FACTS: frozenset[type[DomainEvent]] = frozenset(
    {
        reg.AgencyRegistered,
        reg.AgencyProfileAmended,
        reg.AgencySuspended,
        reg.AgencyReinstated,
        reg.AgencyDeregistered,
        reg.AgencyRegistrationRevoked,
    }
)
AGENCY_TYPES: tuple[str, ...] = tuple(sorted(cls.event_type for cls in AGENCY_FACTS))


def agency_of(event: DomainEvent) -> str | None:
    """The credit code of an agency fact (it changes that agency's view alone); None for any
    other fact, or an agency fact without one."""
    uscc = getattr(event, "uscc", None)
    return uscc if type(event) in AGENCY_FACTS and isinstance(uscc, str) else None


def refold_agencies(
    state: CityState, usccs: Iterable[str], facts: Iterable[tuple[DomainEvent, dt.date]]
) -> None:
    """Replace these agencies' views by the fold of `facts` (all of their agency facts to
    keep, in fold order): an agency with none left is absent, as in a fold without them."""
    for uscc in usccs:
        state.agencies.pop(uscc, None)
    for event, day in facts:
        apply_event(state, event, day)


@_handles(inc.BaseEstablished)
def _base_established(state: CityState, event: inc.BaseEstablished, day: dt.date) -> None:
    state.bases[event.base_id] = BaseView(
        base_id=event.base_id,
        name=event.name,
        level=event.level,
        reporting_unit=event.reporting_unit,
        established_on=event.established_on,
        closed_on=None,
        meets_hardware_standard=meets_hardware_standard(event),
        offices=allottable_offices(event),
    )


@_handles(inc.BaseFacilitiesUpdated)
def _facilities(state: CityState, event: inc.BaseFacilitiesUpdated, day: dt.date) -> None:
    if (b := state.bases.get(event.base_id)) is not None:
        state.bases[event.base_id] = replace(
            b,
            meets_hardware_standard=meets_hardware_standard(event),
            offices=allottable_offices(event),
        )


@_handles(inc.BaseClosed)
def _base_closed(state: CityState, event: inc.BaseClosed, day: dt.date) -> None:
    if (b := state.bases.get(event.base_id)) is not None:
        state.bases[event.base_id] = replace(b, closed_on=event.closed_on)


@_handles(inc.IncubationStarted)
def _started(state: CityState, event: inc.IncubationStarted, day: dt.date) -> None:
    state.incubations[event.incubation_id] = IncubationView(
        incubation_id=event.incubation_id,
        base_id=event.base_id,
        uscc=event.uscc,
        started_on=event.started_on,
        term_end=event.term_end,
        local=event.local,
    )


@_handles(inc.IncubationExtended)
def _extended(state: CityState, event: inc.IncubationExtended, day: dt.date) -> None:
    if (i := state.incubations.get(event.incubation_id)) is not None:
        state.incubations[event.incubation_id] = replace(i, term_end=event.term_end)


@_handles(inc.AgencyGraduated)
def _graduated(state: CityState, event: inc.AgencyGraduated, day: dt.date) -> None:
    if (i := state.incubations.get(event.incubation_id)) is not None:
        state.incubations[event.incubation_id] = replace(i, graduated_on=event.graduated_on)


@_handles(inc.IncubationTerminated)
def _terminated(state: CityState, event: inc.IncubationTerminated, day: dt.date) -> None:
    if (i := state.incubations.get(event.incubation_id)) is not None:
        state.incubations[event.incubation_id] = replace(
            i, terminated_on=event.terminated_on, termination_reason=event.reason
        )


@_handles(inc.IncubationIdentityLinked)
def _identity_linked(state: CityState, event: inc.IncubationIdentityLinked, day: dt.date) -> None:
    # 注册协助 (issue 11 §2): the group was registered; its stay and the funding it
    # received under the provisional id are the agency's from now on (counted once).
    if (i := state.incubations.get(event.incubation_id)) is not None:
        state.incubations[event.incubation_id] = replace(i, uscc=event.uscc)
    state.funding.replace("uscc", event.provisional_id, event.uscc)
    ops.relink(state, event.provisional_id, event.uscc)


@_handles(inc.SupportRecorded)
def _support(state: CityState, event: inc.SupportRecorded, day: dt.date) -> None:
    if event.support_type == "funding" or event.amount_yuan is not None:
        state.funding.add(
            base_id=event.base_id,
            uscc=event.uscc,
            support_type=event.support_type,
            funding_type=event.funding_type,
            amount=decimal_of(event.amount_yuan or "0"),
            given_on=event.given_on,
        )


@_handles(inc.TrainingDelivered)
def _training(state: CityState, event: inc.TrainingDelivered, day: dt.date) -> None:
    state.trainings.add(
        base_id=event.base_id,
        held_on=event.held_on,
        hours=decimal_of(event.hours),
        attendees=event.attendees,
    )


@_handles(sup.AnnualInspectionConcluded)
def _inspection(state: CityState, event: sup.AnnualInspectionConcluded, day: dt.date) -> None:
    state.inspections.add(
        uscc=event.uscc,
        year=event.year,
        conclusion=event.conclusion,
        concluded_on=event.concluded_on,
    )


@_handles(sup.ViolationRecorded)
def _violation(state: CityState, event: sup.ViolationRecorded, day: dt.date) -> None:
    state.violations[event.violation_id] = Violation(
        event.violation_id, event.uscc, event.category, event.severity, event.found_on
    )


@_handles(sup.RectificationOrdered)
def _ordered(state: CityState, event: sup.RectificationOrdered, day: dt.date) -> None:
    state.rectifications[event.rectification_id] = Rectification(
        event.rectification_id,
        event.uscc,
        event.violation_id,
        event.ordered_on,
        event.deadline,
    )


@_handles(sup.RectificationConfirmed)
def _confirmed(state: CityState, event: sup.RectificationConfirmed, day: dt.date) -> None:
    if (r := state.rectifications.get(event.rectification_id)) is not None:
        state.rectifications[r.rectification_id] = replace(r, confirmed_on=event.confirmed_on)


@_handles(sup.RectificationOverdue)
def _overdue(state: CityState, event: sup.RectificationOverdue, day: dt.date) -> None:
    if (r := state.rectifications.get(event.rectification_id)) is not None:
        state.rectifications[r.rectification_id] = replace(r, overdue_on=event.overdue_on)


@_handles(sup.AgencyListed)
def _listed(state: CityState, event: sup.AgencyListed, day: dt.date) -> None:
    state.listings[event.listing_id] = Listing(
        event.listing_id, event.uscc, event.list, event.ground, event.listed_on
    )


@_handles(sup.AgencyDelisted)
def _delisted(state: CityState, event: sup.AgencyDelisted, day: dt.date) -> None:
    if (lst := state.listings.get(event.listing_id)) is not None:
        state.listings[lst.listing_id] = replace(
            lst, removed_on=event.removed_on, removal_reason=event.reason
        )


@_handles(sup.ListingClockRestarted)
def _clock(state: CityState, event: sup.ListingClockRestarted, day: dt.date) -> None:
    if (lst := state.listings.get(event.listing_id)) is not None:
        state.listings[lst.listing_id] = replace(lst, clock_from=event.restarted_on)


@_handles(sup.FollowUpEvaluationRecorded)
def _follow_up(state: CityState, event: sup.FollowUpEvaluationRecorded, day: dt.date) -> None:
    state.follow_ups.append(
        FollowUp(event.uscc, event.base_id, event.conclusion, event.evaluated_on)
    )


@_handles(sup.PenaltyImposed)
def _penalty(state: CityState, event: sup.PenaltyImposed, day: dt.date) -> None:
    state.penalties[event.penalty_id] = event.kind


_HANDLERS.update(ops.HANDLERS)  # issue 11's facts (domain/operations.py)
# Facts whose values a state keeps only as references into records.VALUES (one object per
# distinct value already): a fold need not share their values itself (foldworker._parsed).
INTO_RECORDS: frozenset[type[DomainEvent]] = frozenset(
    {inc.SupportRecorded, inc.TrainingDelivered, sup.AnnualInspectionConcluded}
)


def _status(state: CityState, uscc: str, status: str, day: dt.date) -> None:
    if (a := state.agencies.get(uscc)) is not None:
        state.agencies[uscc] = replace(a, status=status, status_since=day)
