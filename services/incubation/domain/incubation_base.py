"""The state of one base (孵化基地), folded from its events: facilities, standards and calls.

Occupancy is not folded here: it lives in the incubations (one stream each) and is read from the
`incubations` read model, kept in the same transaction as their events (see docs/incubation.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TypeAlias, assert_never

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

from servicekit.decisions import EventOutOfOrder, InvalidTransition

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
    match event:
        case BaseEstablished():
            if state is not None:
                raise EventOutOfOrder(f"base {event.base_id} already established")
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
                facilities=Facilities(
                    rooms(event.offices),
                    event.has_desks_and_chairs,
                    event.has_projector,
                    event.fire_safety_compliant,
                ),
            )
        case BaseFacilitiesUpdated():
            return replace(
                _existing(state, event),
                facilities=Facilities(
                    rooms(event.offices),
                    event.has_desks_and_chairs,
                    event.has_projector,
                    event.fire_safety_compliant,
                ),
            )
        case AdmissionStandardAdopted():
            base = _existing(state, event)
            standard = Standard(
                event.version,
                tuple(event.requirements),
                event.agreement_template,
                event.effective_from,
            )
            return replace(base, standards=(*base.standards, standard))
        case CallPublished():
            base = _existing(state, event)
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
        case TrainingDelivered():
            base = _existing(state, event)
            return replace(base, training_sessions=(*base.training_sessions, event.session_id))
        case BaseClosed():
            return replace(
                _existing(state, event), closed_on=event.closed_on, closed_reason=event.reason
            )
        case BaseEvaluated():
            base = _existing(state, event)
            return replace(base, evaluations=(*base.evaluations, event.evaluation_id))
        case BaseStaffRecorded():
            base = _existing(state, event)
            count = StaffCount(event.counted_on, event.full_time, event.qualified)
            return replace(base, staff=(*base.staff, count))
        case BaseFundingRecorded():
            base = _existing(state, event)
            funds = BaseFunds(
                event.funding_id,
                event.source,
                event.purpose,
                Decimal(event.amount_yuan),
                event.received_on,
            )
            return replace(base, funds=(*base.funds, funds))
        case _:
            assert_never(event)


def _existing(state: IncubationBase | None, event: BaseEvent) -> IncubationBase:
    if state is None:
        raise EventOutOfOrder(f"{event.type_key()} before BaseEstablished")
    return state


def known_base(state: IncubationBase | None, base_id: str) -> IncubationBase:
    """The base, or `base_not_found` (404)."""
    if state is None:
        raise InvalidTransition(
            "base_not_found", f"孵化基地{base_id}不存在", f"no base with id {base_id}"
        )
    return state


def open_base(state: IncubationBase | None, base_id: str) -> IncubationBase:
    """The base if not closed; `base_closed` (409) otherwise."""
    base = known_base(state, base_id)
    if base.is_closed:
        raise InvalidTransition("base_closed", "孵化基地已关闭", f"base {base_id} is closed")
    return base
