"""Leaving the base: graduation (出壳) against the criteria in force, termination (退驻), and the
link from a preparing group's incubation to the agency it became."""

from __future__ import annotations

from typing import TypeAlias, assert_never

from socialwork_contracts.incubation import (
    AgencyGraduated,
    IncubationIdentityLinked,
    IncubationTerminated,
)

from servicekit.decisions import InvalidTransition, RuleViolation, reject_any
from services.incubation.domain import rules
from services.incubation.domain.commands import (
    GraduateAgency,
    LinkIncubationIdentity,
    TerminateIncubation,
)
from services.incubation.domain.incubation import (
    HOLDING,
    Incubation,
    IncubationEvent,
    in_status,
    known_incubation,
)
from services.incubation.domain.situation import KnownAgency, Situation

ExitCommand: TypeAlias = GraduateAgency | TerminateIncubation | LinkIncubationIdentity


def decide_exit(
    state: Incubation | None, command: ExitCommand, situation: Situation
) -> list[IncubationEvent]:
    """The event of a graduation, a termination or an identity link."""
    match command:
        case GraduateAgency():
            return [graduate(state, command, situation)]
        case TerminateIncubation():
            return [terminate(state, command)]
        case LinkIncubationIdentity():
            return [link_identity(state, command)]
        case _:
            assert_never(command)


def graduate(
    state: Incubation | None, command: GraduateAgency, situation: Situation
) -> AgencyGraduated:
    """出壳 against the criteria version in force on the graduation day (configuration data)."""
    s = in_status(
        known_incubation(state, command.incubation_id), frozenset({"incubating"}), "graduate"
    )
    assert s.started_on is not None
    assert s.agreement is not None
    criteria = situation.criteria
    if criteria is None:
        raise InvalidTransition(
            "no_graduation_criteria",
            "出壳日期无生效的出壳标准",
            "no graduation criteria are in force on that day",
        )
    found: list[RuleViolation] = []
    for criterion in criteria.criteria:
        recorded = _recorded(criterion.id, situation.agency)
        if criterion.checked_by == "system":
            met = _system_check(criterion.id, s, situation)
        elif criterion.checked_by == "records" and recorded is not None:
            met = recorded  # the published facts decide, whatever the assessors marked
        else:
            met = command.assessment.get(criterion.id) is True
        if not met:
            found.append(
                RuleViolation(
                    f"criterion_not_met:{criterion.id}",
                    "assessment",
                    f"未达到出壳标准：{criterion.zh}",
                    f"graduation criterion not met: {criterion.en}",
                )
            )
    found += rules.not_listed(situation.agency)  # always, whatever the configured criteria say
    found += rules.registered(situation.agency)  # 注册协助: a group must be registered first
    found += rules.text_present("assessment_summary", command.assessment_summary, "出壳评估意见")
    found += rules.date_order(
        "graduated_on",
        s.started_on,
        command.graduated_on,
        "出壳日期早于入驻",
        "graduated before moving in",
    )
    reject_any(found)
    return AgencyGraduated(
        incubation_id=s.incubation_id,
        base_id=s.base_id,
        uscc=s.uscc,
        graduated_on=command.graduated_on,
        assessment_summary=command.assessment_summary,
        office_id=s.agreement.office_id,
        criteria_version=criteria.version,
    )


# The latest annual inspection passed: 合格, or filed in annual-report mode. 基本合格 is not 合格
# (the guidance's word is 年检合格; docs/incubation.md).
PASSING_INSPECTION = frozenset({"qualified", "filed"})


def _recorded(criterion: str, agency: KnownAgency | None) -> bool | None:
    """What the registry's and supervision's facts say of a criterion; None when unknown."""
    if agency is None:
        return None
    if criterion == "staff_ratio_met" and agency.staff is not None:
        full_time, qualified = agency.staff
        return qualified * 3 >= full_time  # guidance §2.2: a third or more qualified
    if criterion == "annual_inspection_passed" and agency.inspection is not None:
        return agency.inspection[1] in PASSING_INSPECTION
    return None


def _system_check(criterion: str, s: Incubation, situation: Situation) -> bool:
    agency = situation.agency
    if criterion == "registered_and_active":
        return agency is not None and agency.status == "active"
    if criterion == "not_listed":
        return agency is not None and not agency.lists
    if criterion == "funded_project":
        return s.funded_count > 0
    return False  # a system criterion this build cannot check is not met


def terminate(state: Incubation | None, command: TerminateIncubation) -> IncubationTerminated:
    """退驻 from an approval, a signed agreement or a running incubation; the place is freed."""
    s = in_status(known_incubation(state, command.incubation_id), HOLDING, "terminate")
    agreement = s.agreement
    found = rules.text_present("detail", command.detail, "退驻说明")
    if agreement is not None:
        found += rules.date_order(
            "terminated_on",
            agreement.signed_on,
            command.terminated_on,
            "退驻日期早于协议签订",
            "terminated before the agreement was signed",
        )
    if command.reason == "term_expired" and (
        agreement is None or command.terminated_on <= agreement.term_end
    ):
        term_end = agreement.term_end if agreement is not None else None
        found.append(
            RuleViolation(
                "term_not_expired",
                "reason",
                f"协议期限至{term_end}（含当日），尚未期满",
                f"the term runs to {term_end} inclusive",
            )
        )
    reject_any(found)
    return IncubationTerminated(
        incubation_id=s.incubation_id,
        base_id=s.base_id,
        uscc=s.uscc,
        office_id=agreement.office_id if agreement is not None else None,
        reason=command.reason,
        terminated_on=command.terminated_on,
        detail=command.detail,
    )


def link_identity(
    state: Incubation | None, command: LinkIncubationIdentity
) -> IncubationIdentityLinked:
    """注册协助: the group behind this incubation was registered; whatever its status (the
    history follows the agency), once, and only for the group it was under."""
    s = known_incubation(state, command.incubation_id)
    if s.uscc != command.provisional_id:
        raise InvalidTransition(
            "not_this_group",
            f"该入孵记录不属于筹备组{command.provisional_id}（当前为{s.uscc}）",
            f"incubation {s.incubation_id} is under {s.uscc}, not {command.provisional_id}",
        )
    return IncubationIdentityLinked(
        incubation_id=s.incubation_id,
        base_id=s.base_id,
        provisional_id=command.provisional_id,
        uscc=command.uscc,
        linked_on=command.linked_on,
    )
