"""Who may send which registry command (guide: scoped by role and locality)."""

from __future__ import annotations

from servicekit.auth import Principal, Role, require_role, require_unit
from services.registry.domain.agency import Agency
from services.registry.domain.commands import (
    AmendAgencyProfile,
    RegisterAgency,
    RegistryCommand,
    RevokeAgencyRegistration,
    SuspendAgency,
)

# Registration is civil affairs' work: the city, or the officer of the agency's reporting unit.
REGISTRARS = frozenset({Role.CITY_ADMIN, Role.UNIT_OFFICER})
READERS = frozenset({Role.CITY_ADMIN, Role.UNIT_OFFICER, Role.BASE_OPERATOR, Role.AUDITOR})
# What the registry's own process manager records when supervision imposes a penalty
# (services/registry/consumers.py); the system role is never given to a caller.
SYSTEM_COMMANDS = (SuspendAgency, RevokeAgencyRegistration)


def authorize(
    principal: Principal,
    state: Agency | None,
    command: RegistryCommand,
    _situation: None = None,
) -> None:
    """Raise Forbidden unless the principal may send this command about this agency."""
    action = type(command).__name__
    if principal.role is Role.SYSTEM and isinstance(command, SYSTEM_COMMANDS):
        return  # the penalty was authorised where supervision decided it
    require_role(principal, REGISTRARS, action)
    if isinstance(command, RegisterAgency):
        require_unit(principal, command.reporting_unit, action)
        return
    if state is None:
        return  # the domain answers "agency not found"; nothing is revealed or stored
    require_unit(principal, state.reporting_unit, action)
    if isinstance(command, AmendAgencyProfile) and command.reporting_unit is not None:
        # Moving an agency to another unit needs authority over the destination too.
        require_unit(principal, command.reporting_unit, action)
