"""The registry events this domain decides and folds: the public contracts, as one union."""

from __future__ import annotations

from typing import TypeAlias

from socialwork_contracts.base import DomainEvent
from socialwork_contracts.registry import (
    AgencyDeregistered,
    AgencyProfileAmended,
    AgencyRegistered,
    AgencyRegistrationRevoked,
    AgencyReinstated,
    AgencyStaffChanged,
    AgencySuspended,
    QualifiedStaffShareFellShort,
)

# Current versions only: a stored AgencyRegistered v1 arrives upcast (socialwork_contracts.catalog).
RegistryEvent: TypeAlias = (
    AgencyRegistered
    | AgencyProfileAmended
    | AgencyStaffChanged
    | QualifiedStaffShareFellShort
    | AgencySuspended
    | AgencyReinstated
    | AgencyDeregistered
    | AgencyRegistrationRevoked
)


def as_registry_event(event: DomainEvent) -> RegistryEvent:
    """Narrow a loaded event to a registry event; TypeError for anything else."""
    if isinstance(event, RegistryEvent):
        return event
    raise TypeError(f"not a registry event: {event.type_key()}")
