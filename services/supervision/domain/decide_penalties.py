"""Penalties decided here and registration sanctions the registry recorded, with the listings
their facts give."""

from __future__ import annotations

from typing import TypeAlias, assert_never

from socialwork_contracts.base import DomainEvent
from socialwork_contracts.supervision import (
    PenaltyImposed,
)

from servicekit.decisions import InvalidTransition, RuleViolation, reject_any, violation_if
from services.supervision.domain import rules
from services.supervision.domain.commands import (
    ImposePenalty,
    KnownAgency,
    ListForRegistrationSanction,
)
from services.supervision.domain.credit_file import CreditFile
from services.supervision.domain.guards import (
    known,
    new_id,
    required_text,
)
from services.supervision.domain.listing_entry import enter_list
from services.supervision.domain.policy import credit_policy

PenaltyCommand: TypeAlias = ImposePenalty | ListForRegistrationSanction


def decide_penalty(
    state: CreditFile | None, command: PenaltyCommand, agency: KnownAgency | None
) -> list[DomainEvent]:
    """The events of a penalty, or of a sanction the registry recorded."""
    match command:
        case ImposePenalty():
            known(agency, command.uscc)
            return impose_penalty(state, command)
        case ListForRegistrationSanction():
            return list_for_sanction(state, command)
        case _:
            assert_never(command)


def impose_penalty(state: CreditFile | None, command: ImposePenalty) -> list[DomainEvent]:
    """A penalty, and the listings the facts give (domain.md: abnormal and serious grounds)."""
    problems = (
        new_id(state, "penalty_id", command.penalty_id)
        + required_text("document_number", command.document_number, "处罚决定书文号")
        + required_text("legal_basis", command.legal_basis, "法律依据")
        + required_text("deciding_department", command.deciding_department, "作出决定的机关")
    )
    problems += _terms(state, command)
    reject_any(problems)
    amount = command.amount_yuan
    penalty = PenaltyImposed(
        penalty_id=command.penalty_id,
        uscc=command.uscc,
        kind=command.kind,
        amount_yuan=f"{amount:.2f}" if amount is not None else None,
        suspended_until=command.suspended_until,
        violation_id=command.violation_id,
        document_number=command.document_number,
        legal_basis=command.legal_basis,
        deciding_department=command.deciding_department,
        decided_on=command.decided_on,
        reason=command.reason,
    )
    events: list[DomainEvent] = [penalty]
    policy = credit_policy(command.decided_on)
    for ground in rules.penalty_grounds(state, command.kind, amount, command.decided_on, policy):
        events += enter_list(state, command.uscc, ground, command.penalty_id, command.decided_on)
    return events


def list_for_sanction(
    state: CreditFile | None, command: ListForRegistrationSanction
) -> list[DomainEvent]:
    """A suspension or revocation the registry recorded: the listing a penalty here would give.

    The registry's echo of a penalty decided here (same kind, same decision document) is
    already listed by that penalty; it neither lists again nor restarts the clock.
    """
    penalties = state.penalties if state is not None else ()
    if command.decision_document is not None and any(
        p.kind == command.kind and p.document_number == command.decision_document for p in penalties
    ):
        raise InvalidTransition(
            "listed_by_penalty",
            "该处罚已在监管服务记录并列入名录",
            "the penalty recorded here already listed the agency",
        )
    ground = rules.SANCTION_GROUNDS[command.kind]
    return enter_list(state, command.uscc, ground, command.cause_ref, command.decided_on)


def _terms(state: CreditFile | None, command: ImposePenalty) -> list[RuleViolation]:
    """An amount for money penalties only, an end date for a suspension only, a known violation."""
    problems: list[RuleViolation] = []
    money = command.kind in ("fine", "confiscation")
    amount = command.amount_yuan
    until = command.suspended_until
    suspension = command.kind == "suspension"
    problems += violation_if(
        money and (amount is None or amount <= 0),
        "amount_required",
        "amount_yuan",
        "罚没金额必填",
        "amount is required",
    )
    problems += violation_if(
        not money and amount is not None,
        "amount_not_allowed",
        "amount_yuan",
        "该处罚无金额",
        "no amount",
    )
    problems += violation_if(
        suspension and (until is None or until < command.decided_on),
        "suspension_period",
        "suspended_until",
        "限期停止活动须有截止日期且不早于决定日期",
        "a suspension needs an end date on or after the decision",
    )
    problems += violation_if(
        not suspension and until is not None,
        "until_not_allowed",
        "suspended_until",
        "仅停止活动有截止日期",
        "no end",
    )
    problems += violation_if(
        command.violation_id is not None
        and (state is None or state.violation(command.violation_id) is None),
        "violation_not_found",
        "violation_id",
        "违规记录不存在",
        "no violation",
    )
    return problems
