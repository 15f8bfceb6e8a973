"""Who may send which supervision command (docs/supervision.md "Authorisation").

- city_admin: everything, everywhere.
- unit_officer: every command about agencies of their own reporting unit.
- base_operator: may report a violation (RecordViolation) of an agency resident at their own
  base on the day it was found — the base sees subletting first (guidance §4(一), §5.3);
  rectification, penalties and lists are civil affairs' decisions.
- auditor, integrator: read only.
"""

from __future__ import annotations

from servicekit.auth import Forbidden, Principal, Role, require_role, require_unit
from services.supervision.domain.commands import AgencyFacts, RecordViolation, SupervisionCommand
from services.supervision.domain.credit_file import CreditFile

SUPERVISORS = frozenset({Role.CITY_ADMIN, Role.UNIT_OFFICER})
READERS = frozenset(Role)


def authorize(
    principal: Principal,
    state: CreditFile | None,
    command: SupervisionCommand,
    agency: AgencyFacts | None,
) -> None:
    """Raise Forbidden unless the principal may send this command about this agency."""
    action = type(command).__name__
    if principal.role is Role.BASE_OPERATOR and isinstance(command, RecordViolation):
        if agency is not None and agency.base_id is not None and agency.base_id == principal.base:
            return
        raise Forbidden(f"{principal.subject} may report violations only at base {principal.base}")
    require_role(principal, SUPERVISORS, action)
    if agency is None:
        return  # the domain answers "agency not found"; nothing is revealed or stored
    require_unit(principal, agency.reporting_unit, action)
