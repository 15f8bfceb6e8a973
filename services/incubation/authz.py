"""Who may send which incubation command (docs/incubation.md "Authorisation").

- city_admin: anything;
- unit_officer: commands on bases of their reporting unit (and their incubations);
- base_operator: on their own base only: receive applications, record the intake and first-review
  stages, record move-in, support and training — the decisions (panel review, public notice,
  approval, refusal, agreement, extension, graduation, termination, the base's own facts) belong
  to the supervising civil-affairs department;
- auditor, integrator: read only;
- system (this service's own process managers, never a token): terminations only.
"""

from __future__ import annotations

from servicekit.auth import Forbidden, Principal, Role, require_base, require_role, require_unit
from services.incubation.domain.base import Base
from services.incubation.domain.commands import (
    EstablishBase,
    RecordSupport,
    RecordTraining,
    ReviewApplication,
    StartIncubation,
    SubmitApplication,
    TerminateIncubation,
)

CIVIL_AFFAIRS = frozenset({Role.CITY_ADMIN, Role.UNIT_OFFICER})
WRITERS = frozenset({Role.CITY_ADMIN, Role.UNIT_OFFICER, Role.BASE_OPERATOR})
READERS = frozenset({Role.CITY_ADMIN, Role.UNIT_OFFICER, Role.BASE_OPERATOR, Role.AUDITOR})
OPERATOR_REVIEW_STAGES = frozenset({"intake", "first_review"})


def operator_may(command: object) -> bool:
    """Commands a base operator may send about its own base."""
    if isinstance(command, ReviewApplication):
        return command.stage in OPERATOR_REVIEW_STAGES
    return isinstance(command, SubmitApplication | StartIncubation | RecordSupport | RecordTraining)


def authorize(principal: Principal, base: Base | None, command: object) -> None:
    """Raise Forbidden unless the principal may send this command about this base."""
    action = type(command).__name__
    if principal.role is Role.SYSTEM and isinstance(command, TerminateIncubation):
        return  # a process manager reacting to the registry or supervision
    require_role(principal, WRITERS, action)
    if isinstance(command, EstablishBase):
        require_role(principal, CIVIL_AFFAIRS, action)
        require_unit(principal, command.reporting_unit, action)
        return
    if base is None:
        if principal.role is not Role.CITY_ADMIN and principal.role is not Role.UNIT_OFFICER:
            raise Forbidden(f"{principal.subject} may not {action} on an unknown base")
        return  # the domain answers "not found"; nothing is revealed or stored
    if principal.role is Role.BASE_OPERATOR and not operator_may(command):
        raise Forbidden(f"a base operator may not {action}")
    require_base(principal, base.base_id, base.reporting_unit, action)
