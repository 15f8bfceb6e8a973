"""The registry events this domain decides and folds: the public contracts, as one union."""

from __future__ import annotations

from collections.abc import Callable
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

from servicekit.decisions import event_narrowing

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


# Narrow a loaded event to a registry event; TypeError for anything else.
as_registry_event: Callable[[DomainEvent], RegistryEvent] = event_narrowing(
    RegistryEvent, "a registry"
)
