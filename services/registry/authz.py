"""Who may send which registry command (guide: scoped by role and locality)."""

from __future__ import annotations

from servicekit.auth import Principal, Role, require_role, require_unit
from services.registry.domain.agency import Agency
from services.registry.domain.commands import AmendAgencyProfile, RegisterAgency, RegistryCommand

# Registration is civil affairs' work: the city, or the officer of the agency's reporting unit.
REGISTRARS = frozenset({Role.CITY_ADMIN, Role.UNIT_OFFICER})
READERS = frozenset({Role.CITY_ADMIN, Role.UNIT_OFFICER, Role.BASE_OPERATOR, Role.AUDITOR})


def authorize(principal: Principal, state: Agency | None, command: RegistryCommand) -> None:
    """Raise Forbidden unless the principal may send this command about this agency."""
    action = type(command).__name__
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
