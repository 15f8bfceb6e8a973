"""The state of one base (孵化基地), folded from its events: facilities, standards and calls.

Occupancy is not folded here: it lives in the incubations (one stream each) and is read from the
`incubations` read model, kept in the same transaction as their events (see docs/incubation.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, TypeAlias

from socialwork_contracts.incubation import (
    AdmissionStandardAdopted,
    BaseClosed,
    BaseEstablished,
    BaseEvaluated,
    BaseFacilitiesUpdated,
    BaseFundingRecorded,
    BaseLevel,
    BaseStaffRecorded,
    CallPublished,
    Office,
    TrainingDelivered,
)

from servicekit.decisions import EventOutOfOrder, InvalidTransition, exhaustive, present

BaseEvent: TypeAlias = (
    BaseEstablished
    | BaseFacilitiesUpdated
    | AdmissionStandardAdopted
    | CallPublished
    | TrainingDelivered
    | BaseClosed
    | BaseEvaluated
    | BaseStaffRecorded
    | BaseFundingRecorded
)


@dataclass(frozen=True, slots=True)
class Room:
    office_id: str
    area_m2: Decimal
    shared_room: bool


@dataclass(frozen=True, slots=True)
class Facilities:
    offices: tuple[Room, ...]
    has_desks_and_chairs: bool
    has_projector: bool
    fire_safety_compliant: bool


@dataclass(frozen=True, slots=True)
class Standard:
    version: int
    requirements: tuple[str, ...]
    agreement_template: str
    effective_from: dt.date


@dataclass(frozen=True, slots=True)
class Call:
    call_id: str
    title: str
    opens_on: dt.date
    closes_on: dt.date  # inclusive
    places: int
    standard_version: int
    published_on: dt.date

    def open_on(self, day: dt.date) -> bool:
        """Applications are received from `opens_on` to `closes_on`, both days included."""
        return self.opens_on <= day <= self.closes_on


@dataclass(frozen=True, slots=True)
class StaffCount:
    """专职人员 counted on a day (§3.4); holds until the next count."""

    counted_on: dt.date
    full_time: int
    qualified: int


@dataclass(frozen=True, slots=True)
class BaseFunds:
    """Money the base itself received (基地经费), by source: budget or other (§6.1)."""

    funding_id: str
    source: str  # budget | other
    purpose: str  # construction | operation
    amount: Decimal
    received_on: dt.date


@dataclass(frozen=True, slots=True)
class IncubationBase:
    base_id: str
    name: str
    level: BaseLevel
    reporting_unit: str
    county_code: str | None
    address: str
    supervising_department: str
    operator: str
    operator_uscc: str | None
    purchase_contract: str | None
    established_on: dt.date
    facilities: Facilities
    standards: tuple[Standard, ...] = ()
    calls: tuple[Call, ...] = ()
    training_sessions: tuple[str, ...] = ()
    evaluations: tuple[str, ...] = ()  # 基地运行评估 ids
    staff: tuple[StaffCount, ...] = ()  # in the order recorded
    funds: tuple[BaseFunds, ...] = ()
    closed_on: dt.date | None = None
    closed_reason: str | None = None

    @property
    def is_closed(self) -> bool:
        return self.closed_on is not None

    def call(self, call_id: str) -> Call | None:
        return next((c for c in self.calls if c.call_id == call_id), None)

    def standard_on(self, day: dt.date) -> Standard | None:
        """The latest standard version in force on `day` (effective from that day, inclusive)."""
        in_force = [s for s in self.standards if s.effective_from <= day]
        return max(in_force, key=lambda s: s.version) if in_force else None

    def room(self, office_id: str) -> Room | None:
        return next((r for r in self.facilities.offices if r.office_id == office_id), None)


def rooms(offices: list[Office]) -> tuple[Room, ...]:
    return tuple(Room(o.office_id, Decimal(o.area_m2), o.shared_room) for o in offices)


def evolve(state: IncubationBase | None, event: BaseEvent) -> IncubationBase:
    """Apply one base event; EventOutOfOrder when it cannot follow the state."""
    if isinstance(event, BaseEstablished):
        if state is not None:
            raise EventOutOfOrder(f"base {event.base_id} already established")
        return _established(event)
    return _APPLY[type(event)](_existing(state, event), event)


def _facilities(event: BaseEstablished | BaseFacilitiesUpdated) -> Facilities:
    return Facilities(
        rooms(event.offices),
        event.has_desks_and_chairs,
        event.has_projector,
        event.fire_safety_compliant,
    )


def _established(event: BaseEstablished) -> IncubationBase:
    return IncubationBase(
        base_id=event.base_id,
        name=event.name,
        level=event.level,
        reporting_unit=event.reporting_unit,
        county_code=event.county_code,
        address=event.address,
        supervising_department=event.supervising_department,
        operator=event.operator,
        operator_uscc=event.operator_uscc,
        purchase_contract=event.purchase_contract,
        established_on=event.established_on,
        facilities=_facilities(event),
    )


def _facilities_updated(base: IncubationBase, event: BaseFacilitiesUpdated) -> IncubationBase:
    return replace(base, facilities=_facilities(event))


def _standard_adopted(base: IncubationBase, event: AdmissionStandardAdopted) -> IncubationBase:
    standard = Standard(
        event.version, tuple(event.requirements), event.agreement_template, event.effective_from
    )
    return replace(base, standards=(*base.standards, standard))


def _call_published(base: IncubationBase, event: CallPublished) -> IncubationBase:
    call = Call(
        event.call_id,
        event.title,
        event.opens_on,
        event.closes_on,
        event.places,
        event.standard_version,
        event.published_on,
    )
    return replace(base, calls=(*base.calls, call))


def _training(base: IncubationBase, event: TrainingDelivered) -> IncubationBase:
    return replace(base, training_sessions=(*base.training_sessions, event.session_id))


def _closed(base: IncubationBase, event: BaseClosed) -> IncubationBase:
    return replace(base, closed_on=event.closed_on, closed_reason=event.reason)


def _evaluated(base: IncubationBase, event: BaseEvaluated) -> IncubationBase:
    return replace(base, evaluations=(*base.evaluations, event.evaluation_id))


def _staff(base: IncubationBase, event: BaseStaffRecorded) -> IncubationBase:
    count = StaffCount(event.counted_on, event.full_time, event.qualified)
    return replace(base, staff=(*base.staff, count))


def _funding(base: IncubationBase, event: BaseFundingRecorded) -> IncubationBase:
    funds = BaseFunds(
        event.funding_id, event.source, event.purpose, Decimal(event.amount_yuan), event.received_on
    )
    return replace(base, funds=(*base.funds, funds))


_APPLY: dict[type, Callable[[IncubationBase, Any], IncubationBase]] = exhaustive(
    BaseEvent,
    {
        BaseFacilitiesUpdated: _facilities_updated,
        AdmissionStandardAdopted: _standard_adopted,
        CallPublished: _call_published,
        TrainingDelivered: _training,
        BaseClosed: _closed,
        BaseEvaluated: _evaluated,
        BaseStaffRecorded: _staff,
        BaseFundingRecorded: _funding,
    },
    apart=(BaseEstablished,),
)


def _existing(state: IncubationBase | None, event: BaseEvent) -> IncubationBase:
    return present(state, EventOutOfOrder(f"{event.type_key()} before BaseEstablished"))


def known_base(state: IncubationBase | None, base_id: str) -> IncubationBase:
    """The base, or `base_not_found` (404)."""
    return present(
        state,
        InvalidTransition(
            "base_not_found", f"孵化基地{base_id}不存在", f"no base with id {base_id}"
        ),
    )


def open_base(state: IncubationBase | None, base_id: str) -> IncubationBase:
    """The base if not closed; `base_closed` (409) otherwise."""
    base = known_base(state, base_id)
    if base.is_closed:
        raise InvalidTransition("base_closed", "孵化基地已关闭", f"base {base_id} is closed")
    return base
