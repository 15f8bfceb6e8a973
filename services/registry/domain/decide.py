"""decide(state, command) -> events: the registry's decisions, pure (no clock, no ids, no I/O).

Registration, amendment and status changes each decide in their own module; this one dispatches.
"""

from __future__ import annotations

from typing import assert_never

from services.registry.domain.agency import Agency
from services.registry.domain.amendment import amend_profile
from services.registry.domain.commands import (
    AmendAgencyProfile,
    ChangeAgencyStaff,
    DeregisterAgency,
    RegisterAgency,
    RegistryCommand,
    ReinstateAgency,
    RevokeAgencyRegistration,
    SuspendAgency,
)
from services.registry.domain.events import RegistryEvent
from services.registry.domain.registration import change_staff, register
from services.registry.domain.status import (
    deregister,
    reinstate,
    revoke_registration,
    suspend,
)


def decide(state: Agency | None, command: RegistryCommand) -> list[RegistryEvent]:
    """The events a command produces; DomainRejected or InvalidTransition when it is refused."""
    match command:
        case RegisterAgency():
            return [register(state, command)]
        case AmendAgencyProfile():
            return [amend_profile(state, command)]
        case ChangeAgencyStaff():
            return change_staff(state, command)
        case SuspendAgency():
            return [suspend(state, command)]
        case ReinstateAgency():
            return [reinstate(state, command)]
        case DeregisterAgency():
            return [deregister(state, command)]
        case RevokeAgencyRegistration():
            return [revoke_registration(state, command)]
        case _:
            assert_never(command)
