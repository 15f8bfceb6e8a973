"""The admission decision: approval (a free office and a place in the call) or refusal."""

from __future__ import annotations

from typing import TypeAlias, assert_never

from socialwork_contracts.incubation import (
    ApplicationApproved,
    ApplicationRejected,
)

from servicekit.decisions import RuleViolation, reject_any
from services.incubation.domain import rules
from services.incubation.domain.commands import (
    ApproveApplication,
    RejectApplication,
)
from services.incubation.domain.incubation import (
    Incubation,
    IncubationEvent,
    in_status,
    known_incubation,
)
from services.incubation.domain.incubation_base import open_base
from services.incubation.domain.situation import Situation

AdmissionCommand: TypeAlias = ApproveApplication | RejectApplication


def decide_admission(
    state: Incubation | None, command: AdmissionCommand, situation: Situation
) -> list[IncubationEvent]:
    """The event of the admission decision."""
    match command:
        case ApproveApplication():
            return [approve(state, command, situation)]
        case RejectApplication():
            return [reject(state, command)]
        case _:
            assert_never(command)


def approve(
    state: Incubation | None, command: ApproveApplication, situation: Situation
) -> ApplicationApproved:
    """Admission: all stages passed; agency admissible; a free office and a place in the call."""
    s = in_status(
        known_incubation(state, command.incubation_id), frozenset({"submitted"}), "approve"
    )
    base = open_base(situation.base, s.base_id)
    found: list[RuleViolation] = []
    if s.next_stage is not None:
        found.append(
            RuleViolation(
                "review_incomplete",
                "incubation_id",
                "审核尚未完成（受理、初审、评审、公示）",
                f"review not complete: {s.next_stage} is still to do",
            )
        )
    found += rules.hardware_standard(base.facilities)
    found += rules.agency_admissible(situation.agency, s.uscc) + rules.not_elsewhere(situation)
    offices = len(rules.allottable_offices(base.facilities))
    if situation.base_holding >= offices:
        found.append(
            RuleViolation(
                "no_office_available",
                "base_id",
                f"基地{offices}间可分配办公室均已占用或预留",
                f"all {offices} allottable offices of the base are taken or reserved",
            )
        )
    call = base.call(s.call_id)
    if call is not None and situation.call_approved >= call.places:
        found.append(
            RuleViolation(
                "call_places_full",
                "call_id",
                f"本次申请通知{call.places}个名额已满",
                f"the call's {call.places} places are all taken",
            )
        )
    found += rules.text_present("opinion", command.opinion, "审批意见")
    found += rules.date_order(
        "approved_on",
        s.last_reviewed_on or s.submitted_on,
        command.approved_on,
        "批准日期早于审核",
        "approved before the review ended",
    )
    reject_any(found)
    return ApplicationApproved(
        incubation_id=s.incubation_id,
        base_id=s.base_id,
        call_id=s.call_id,
        uscc=s.uscc,
        opinion=command.opinion,
        approved_on=command.approved_on,
    )


def reject(state: Incubation | None, command: RejectApplication) -> ApplicationRejected:
    """Refuse at any stage before approval; at least one reason is recorded."""
    s = in_status(
        known_incubation(state, command.incubation_id), frozenset({"submitted"}), "reject"
    )
    reasons = [r for r in command.reasons if r.strip()]
    found = (
        []
        if reasons
        else [RuleViolation("reasons_missing", "reasons", "须说明不予入孵理由", "give a reason")]
    )
    found += rules.date_order(
        "rejected_on", s.submitted_on, command.rejected_on, "决定日期早于申请", "before applying"
    )
    reject_any(found)
    return ApplicationRejected(
        incubation_id=s.incubation_id,
        base_id=s.base_id,
        call_id=s.call_id,
        uscc=s.uscc,
        stage=s.next_stage if s.reviews else None,
        reasons=reasons,
        rejected_on=command.rejected_on,
    )
