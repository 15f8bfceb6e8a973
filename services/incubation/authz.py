"""Who may send which incubation command (docs/incubation.md "Authorisation").

- city_admin: anything;
- unit_officer: commands on bases of their reporting unit (and their incubations);
- base_operator: on their own base only: receive applications, record the intake and first-review
  stages, record move-in, support, training, residents' professional services and the base's
  staff — the decisions (panel review, public notice,
  approval, refusal, agreement, extension, graduation, termination, the base's own facts) belong
  to the supervising civil-affairs department;
- auditor, integrator: read only;
- system (this service's own process managers, never a token): terminations only.

Reading (queries) is scoped the same way: city_admin and auditor read everything; a unit_officer
reads the bases of their reporting unit and the applications, agreements, incubations and support
at those bases; a base_operator reads their own base and what happens there. Lists are filtered
to the caller's scope (an out-of-scope filter gives an empty list); asking for one named base
(or its offices, calls, residents, trainings) or one incubation outside the scope is a 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from servicekit.auth import Forbidden, Principal, Role, require_base, require_role, require_unit
from services.incubation.domain.commands import (
    EstablishBase,
    FlagInactivity,
    LinkIncubationIdentity,
    MarkGroupRegistrationOverdue,
    MarkTermOverrun,
    RecordBaseStaff,
    RecordGroupInPreparation,
    RecordGroupRegistration,
    RecordProfessionalServices,
    RecordSupport,
    RecordTraining,
    ReviewApplication,
    StartIncubation,
    SubmitApplication,
    TerminateIncubation,
)
from services.incubation.domain.incubation_base import IncubationBase

CIVIL_AFFAIRS = frozenset({Role.CITY_ADMIN, Role.UNIT_OFFICER})
WRITERS = frozenset({Role.CITY_ADMIN, Role.UNIT_OFFICER, Role.BASE_OPERATOR})
READERS = frozenset({Role.CITY_ADMIN, Role.UNIT_OFFICER, Role.BASE_OPERATOR, Role.AUDITOR})
OPERATOR_REVIEW_STAGES = frozenset({"intake", "first_review"})
# Facts only this service's own processes record: reactions to the registry, the scheduled check.
SYSTEM_ONLY = (
    TerminateIncubation,
    LinkIncubationIdentity,
    MarkGroupRegistrationOverdue,
    RecordGroupRegistration,
    MarkTermOverrun,
    FlagInactivity,
)


def operator_may(command: object) -> bool:
    """Commands a base operator may send about its own base."""
    if isinstance(command, ReviewApplication):
        return command.stage in OPERATOR_REVIEW_STAGES
    return isinstance(
        command,
        SubmitApplication
        | StartIncubation
        | RecordSupport
        | RecordTraining
        | RecordGroupInPreparation  # 注册协助 is the base's work
        | RecordProfessionalServices  # the base records its residents' services
        | RecordBaseStaff,  # and its own staff
    )


def authorize(principal: Principal, base: IncubationBase | None, command: object) -> None:
    """Raise Forbidden unless the principal may send this command about this base."""
    action = type(command).__name__
    if principal.role is Role.SYSTEM and isinstance(command, SYSTEM_ONLY):
        return  # a process manager reacting to the registry or supervision, or the clock
    require_role(principal, WRITERS, action)
    if isinstance(command, SYSTEM_ONLY[1:]):
        raise Forbidden(f"only this service's own processes may {action}")
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


@dataclass(frozen=True)
class ReadScope:
    """What a reader may see: everything (both None), one reporting unit, or one base."""

    unit: str | None = None
    base: str | None = None


def read_scope(principal: Principal, action: str) -> ReadScope:
    """The caller's read scope; Forbidden for roles that may not read at all."""
    require_role(principal, READERS, action)
    if principal.role is Role.UNIT_OFFICER:
        return ReadScope(unit=principal.unit or "")
    if principal.role is Role.BASE_OPERATOR:
        return ReadScope(base=principal.base or "")
    return ReadScope()


def require_readable(scope: ReadScope, base_id: str, unit: str | None, action: str) -> None:
    """Forbidden unless a base (with its reporting unit, None if unknown) is in the scope."""
    if scope.base is not None and scope.base != base_id:
        raise Forbidden(f"a base operator may not {action} of base {base_id}")
    if scope.unit is not None and unit is not None and scope.unit != unit:
        raise Forbidden(f"a unit officer may not {action} in unit {unit}")
