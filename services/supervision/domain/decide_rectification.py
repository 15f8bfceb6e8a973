"""Violations and their rectification (guidance §6.2): record, order, confirm, mark overdue."""

from __future__ import annotations

from typing import TypeAlias, assert_never

from socialwork_contracts.base import DomainEvent
from socialwork_contracts.supervision import (
    VIOLATION_CATEGORIES,
    RectificationConfirmed,
    RectificationOrdered,
    RectificationOverdue,
    ViolationRecorded,
)

from servicekit.decisions import InvalidTransition, RuleViolation, reject_any
from services.supervision.domain import rules
from services.supervision.domain.commands import (
    ConfirmRectification,
    KnownAgency,
    MarkRectificationOverdue,
    OrderRectification,
    RecordViolation,
)
from services.supervision.domain.credit_file import CreditFile
from services.supervision.domain.guards import (
    existing_file,
    known,
    new_id,
    not_before,
    overdue_on,
    rectification_in,
    required_text,
)
from services.supervision.domain.listing_entry import delist_if_rectified, enter_list
from services.supervision.domain.periods import overdue_from

RectificationCommand: TypeAlias = (
    RecordViolation | OrderRectification | ConfirmRectification | MarkRectificationOverdue
)


def decide_rectification(
    state: CreditFile | None, command: RectificationCommand, agency: KnownAgency | None
) -> list[DomainEvent]:
    """The events of a violation or its rectification."""
    match command:
        case RecordViolation():
            return [record_violation(state, command, known(agency, command.uscc))]
        case OrderRectification():
            return [order_rectification(existing_file(state, command.uscc), command)]
        case ConfirmRectification():
            return confirm_rectification(existing_file(state, command.uscc), command)
        case MarkRectificationOverdue():
            return mark_overdue(existing_file(state, command.uscc), command)
        case _:
            assert_never(command)


def record_violation(
    state: CreditFile | None, command: RecordViolation, agency: KnownAgency
) -> ViolationRecorded:
    """guidance §6.2: a violation with its category, severity, facts and evidence."""
    category = (
        []
        if command.category in VIOLATION_CATEGORIES
        else [
            RuleViolation(
                "unknown_category", "category", "违规类别不存在", f"{command.category} is unknown"
            )
        ]
    )
    reject_any(
        new_id(state, "violation_id", command.violation_id)
        + category
        + required_text("facts", command.facts, "违规事实")
        + required_text("evidence_ref", command.evidence_ref, "证据")
    )
    return ViolationRecorded(
        violation_id=command.violation_id,
        uscc=command.uscc,
        category=command.category,
        severity=command.severity,
        facts=command.facts,
        evidence_ref=command.evidence_ref,
        base_id=agency.base_id,
        found_on=command.found_on,
    )


def order_rectification(file: CreditFile, command: OrderRectification) -> RectificationOrdered:
    violation = file.violation(command.violation_id)
    if violation is None:
        raise InvalidTransition(
            "violation_not_found",
            f"未找到违规记录{command.violation_id}",
            f"no violation {command.violation_id} in this credit file",
        )
    if any(r.violation_id == violation.violation_id and r.unresolved for r in file.rectifications):
        raise InvalidTransition(
            "rectification_pending",
            "该违规已有未完成的整改",
            "an earlier rectification of this violation is still unresolved",
        )
    reject_any(
        new_id(file, "rectification_id", command.rectification_id)
        + required_text("requirements", command.requirements, "整改要求")
        + not_before("ordered_on", command.ordered_on, violation.found_on, "下达日期")
        + not_before("deadline", command.deadline, command.ordered_on, "整改期限")
    )
    return RectificationOrdered(
        rectification_id=command.rectification_id,
        uscc=command.uscc,
        violation_id=command.violation_id,
        requirements=command.requirements,
        deadline=command.deadline,
        document_number=command.document_number,
        ordered_on=command.ordered_on,
    )


def confirm_rectification(file: CreditFile, command: ConfirmRectification) -> list[DomainEvent]:
    """Verified rectification; a listing with nothing left to put right ends the same day."""
    rectification = rectification_in(file, command.rectification_id)
    if rectification.status == "confirmed":
        raise InvalidTransition(
            "already_confirmed", "该整改已确认", "this rectification is already confirmed"
        )
    reject_any(
        required_text("verification", command.verification, "核查意见")
        + not_before("confirmed_on", command.confirmed_on, rectification.ordered_on, "确认日期")
    )
    confirmed = RectificationConfirmed(
        rectification_id=rectification.rectification_id,
        uscc=command.uscc,
        violation_id=rectification.violation_id,
        verification=command.verification,
        confirmed_on=command.confirmed_on,
    )
    return [confirmed, *delist_if_rectified(file, rectification.rectification_id, confirmed)]


def mark_overdue(file: CreditFile, command: MarkRectificationOverdue) -> list[DomainEvent]:
    """Time alone: the deadline passed unverified -> overdue, and the abnormal list."""
    rectification = rectification_in(file, command.rectification_id)
    if rectification.status != "open":
        raise InvalidTransition(
            "rectification_not_open",
            "该整改已确认或已逾期",
            f"the rectification is {rectification.status}",
        )
    overdue_day = overdue_from(rectification.deadline)
    overdue_on(command.overdue_on, overdue_day, "rectification")
    overdue = RectificationOverdue(
        rectification_id=rectification.rectification_id,
        uscc=command.uscc,
        violation_id=rectification.violation_id,
        deadline=rectification.deadline,
        overdue_on=overdue_day,
    )
    ground = rules.ListingGround("abnormal", "rectification_overdue", "逾期未完成整改")
    return [
        overdue,
        *enter_list(file, command.uscc, ground, rectification.rectification_id, overdue_day),
    ]
