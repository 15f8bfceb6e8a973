"""Who may send which supervision command, and who may read what (docs/supervision.md
"Authorisation").

Writes:
- city_admin: everything, everywhere.
- unit_officer: every command about agencies of their own reporting unit.
- base_operator: may report a violation (RecordViolation) of an agency resident at their own
  base on the day it was found — the base sees subletting first (guidance §4(一), §5.3);
  rectification, penalties and lists are civil affairs' decisions.
- auditor, integrator: nothing.

Reads: the credit lists are public (《社会组织信用信息管理办法》 publishes them) and open to every
role; a credit file (violations, penalties, rectifications) to the city and auditors, to the
officers of the agency's unit and to the bases that incubated it; the rectification casework to
the city, auditors and officers (their unit only).

Every scope is the agency's reporting unit as the registry published it to supervision
(`supervision.agencies`, with the bases from `supervision.residencies`). An agency missing
there — never registered, or while that table is rebuilt — is in no unit's or base's scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from servicekit.auth import Forbidden, Principal, Role, require_role, require_unit
from services.supervision.domain.commands import (
    EscalateListing,
    ExpireListing,
    KnownAgency,
    ListForRegistrationSanction,
    MarkAnnualReportOverdue,
    MarkRectificationOverdue,
    RecordViolation,
    SupervisionCommand,
)
from services.supervision.domain.credit_file import CreditFile
from services.supervision.domain.decide import agency_not_found

SUPERVISORS = frozenset({Role.CITY_ADMIN, Role.UNIT_OFFICER})
CITYWIDE_READERS = frozenset({Role.CITY_ADMIN, Role.AUDITOR})
FILE_READERS = CITYWIDE_READERS | {Role.UNIT_OFFICER, Role.BASE_OPERATOR}
CASEWORK_READERS = CITYWIDE_READERS | {Role.UNIT_OFFICER}
LIST_READERS = frozenset(Role)
# Facts only this service's own processes record: the scheduled check (the clock acts for the
# bureau) and the reactions to the registry (services/supervision/consumers.py).
SYSTEM_ONLY = (
    MarkRectificationOverdue,
    ExpireListing,
    EscalateListing,
    MarkAnnualReportOverdue,
    ListForRegistrationSanction,
)
# The registry's staff shortfall is recorded as a violation by the same process manager.
SYSTEM_COMMANDS = (*SYSTEM_ONLY, RecordViolation)


@dataclass(frozen=True)
class AgencyScope:
    """Where an agency belongs, as supervision learnt it: its reporting unit (registry) and
    every base that incubated it, residents and graduates alike (incubation)."""

    reporting_unit: str
    bases: frozenset[str] = frozenset()


def authorize(
    principal: Principal,
    state: CreditFile | None,
    command: SupervisionCommand,
    agency: KnownAgency | None,
) -> None:
    """Raise Forbidden unless the principal may send this command about this agency
    (InvalidTransition `agency_not_found` to a unit officer naming an agency not known here)."""
    action = type(command).__name__
    if principal.role is Role.SYSTEM and isinstance(command, SYSTEM_COMMANDS):
        return  # the clock, or a reaction to a fact decided and authorised elsewhere
    if isinstance(command, SYSTEM_ONLY):
        raise Forbidden(f"only this service's own processes may {action}")
    if principal.role is Role.BASE_OPERATOR and isinstance(command, RecordViolation):
        if agency is not None and agency.base_id is not None and agency.base_id == principal.base:
            return
        raise Forbidden(f"{principal.subject} may report violations only at base {principal.base}")
    require_role(principal, SUPERVISORS, action)
    if principal.role is Role.CITY_ADMIN:
        return  # citywide; the domain answers an unknown agency where a record needs one
    if agency is None:
        raise agency_not_found(command.uscc)  # its unit cannot be checked: never by default
    require_unit(principal, agency.reporting_unit, action)


def require_file_reader(principal: Principal, agency: AgencyScope | None, uscc: str) -> None:
    """Raise Forbidden unless the principal may read this agency's credit file
    (InvalidTransition `agency_not_found` to a scoped reader naming an agency not known here)."""
    action = "read credit files"
    require_role(principal, FILE_READERS, action)
    if principal.role in CITYWIDE_READERS:
        return
    if agency is None:
        raise agency_not_found(uscc)
    if principal.role is Role.BASE_OPERATOR:
        if principal.base not in agency.bases:
            raise Forbidden(f"{principal.subject} may read only agencies incubated at its base")
        return
    require_unit(principal, agency.reporting_unit, action)


def readable_unit(principal: Principal, requested: str | None, action: str) -> str | None:
    """The unit a casework list is limited to (None = citywide); Forbidden outside scope."""
    require_role(principal, CASEWORK_READERS, action)
    if principal.role in CITYWIDE_READERS:
        return requested
    if requested is not None and requested != principal.unit:
        raise Forbidden(f"{principal.subject} may not {action} of unit {requested}")
    return principal.unit
