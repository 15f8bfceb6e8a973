"""The state of one agency's registration, folded from its events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal, TypeVar, assert_never

from socialwork_contracts.registry import (
    AgencyDeregistered,
    AgencyKind,
    AgencyProfileAmended,
    AgencyRegistered,
    AgencyRegistrationRevoked,
    AgencyReinstated,
    AgencyStaffChanged,
    AgencySuspended,
    QualifiedStaffShareFellShort,
)

from servicekit.decisions import EventOutOfOrder, present
from services.registry.domain.events import RegistryEvent

# domain.md "Registering an agency": registration status is its own dimension, apart from credit
# lists and incubation. active ⇄ suspended; active | suspended → deregistered | revoked (terminal).
AgencyStatus = Literal["active", "suspended", "deregistered", "revoked"]
CLOSED: frozenset[AgencyStatus] = frozenset({"deregistered", "revoked"})

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Agency:
    """A registered agency (社工机构 or 社会工作协会) as the registry knows it."""

    uscc: str
    name: str
    kind: AgencyKind
    reporting_unit: str  # 统计单位: also what authorisation by locality checks
    county_code: str | None
    address: str
    legal_representative: str
    sponsor: str | None
    charter_purpose: str
    charter_scope: str
    charter_method: str
    full_time_staff: int
    qualified_staff: int
    service_fields: tuple[str, ...]
    target_groups: tuple[str, ...]
    priority: bool
    registered_on: dt.date
    status: AgencyStatus = "active"
    suspended_until: dt.date | None = None  # inclusive; set only while suspended

    @property
    def is_closed(self) -> bool:
        """Deregistered or revoked: nothing more can happen to the registration."""
        return self.status in CLOSED


def evolve(state: Agency | None, event: RegistryEvent) -> Agency:
    """Apply one event to the state; EventOutOfOrder when the event cannot follow it."""
    match event:
        case AgencyRegistered():
            if state is not None:
                raise EventOutOfOrder(f"{event.uscc} is already registered")
            return _registered(event)
        case AgencyProfileAmended():
            return _amended(_existing(state, event), event)
        case AgencyStaffChanged():
            return replace(
                _existing(state, event),
                full_time_staff=event.full_time_staff,
                qualified_staff=event.qualified_staff,
            )
        case QualifiedStaffShareFellShort():
            return _existing(state, event)  # the counts came with AgencyStaffChanged
        case AgencySuspended():
            return replace(_existing(state, event), status="suspended", suspended_until=event.until)
        case AgencyReinstated():
            return replace(_existing(state, event), status="active", suspended_until=None)
        case AgencyDeregistered():
            return replace(_existing(state, event), status="deregistered", suspended_until=None)
        case AgencyRegistrationRevoked():
            return replace(_existing(state, event), status="revoked", suspended_until=None)
        case _:
            assert_never(event)


def fold(events: Iterable[RegistryEvent], state: Agency | None = None) -> Agency | None:
    """The state after the events, in order (None for an empty stream)."""
    for event in events:
        state = evolve(state, event)
    return state


def _registered(event: AgencyRegistered) -> Agency:
    return Agency(
        uscc=event.uscc,
        name=event.name,
        kind=event.kind,
        reporting_unit=event.reporting_unit,
        county_code=event.county_code,
        address=event.address,
        legal_representative=event.legal_representative,
        sponsor=event.sponsor,
        charter_purpose=event.charter_purpose,
        charter_scope=event.charter_scope,
        charter_method=event.charter_method,
        full_time_staff=event.full_time_staff,
        qualified_staff=event.qualified_staff,
        service_fields=tuple(event.service_fields),
        target_groups=tuple(event.target_groups),
        priority=event.priority,
        registered_on=event.registered_on,
    )


def _amended(state: Agency, event: AgencyProfileAmended) -> Agency:
    # A non-null field in the event is a new value. The two nullable particulars (sponsor, county
    # code) can change *to* null, so for them `changed_fields` decides.
    changed = set(event.changed_fields)
    fields, groups = event.service_fields, event.target_groups
    return replace(
        state,
        name=_new(event.name, state.name),
        address=_new(event.address, state.address),
        legal_representative=_new(event.legal_representative, state.legal_representative),
        sponsor=event.sponsor if "sponsor" in changed else state.sponsor,
        reporting_unit=_new(event.reporting_unit, state.reporting_unit),
        county_code=event.county_code if "county_code" in changed else state.county_code,
        charter_purpose=_new(event.charter_purpose, state.charter_purpose),
        charter_scope=_new(event.charter_scope, state.charter_scope),
        charter_method=_new(event.charter_method, state.charter_method),
        service_fields=state.service_fields if fields is None else tuple(fields),
        target_groups=state.target_groups if groups is None else tuple(groups),
        priority=event.priority,
    )


def _new(value: _T | None, old: _T) -> _T:
    return old if value is None else value


def _existing(state: Agency | None, event: RegistryEvent) -> Agency:
    return present(
        state, EventOutOfOrder(f"{event.type_key()} before AgencyRegistered for {event.uscc}")
    )
