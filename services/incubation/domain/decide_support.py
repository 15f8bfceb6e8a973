"""Support given to a resident (guidance §1): funding needs its type, an exact amount, no list."""

from __future__ import annotations

from socialwork_contracts.incubation import (
    SupportRecorded,
)

from servicekit.decisions import RuleViolation, reject_any, violation_if
from services.incubation.domain import rules
from services.incubation.domain.commands import (
    RecordSupport,
)
from services.incubation.domain.incubation import (
    Incubation,
    in_status,
    known_incubation,
)
from services.incubation.domain.situation import Situation


def record_support(
    state: Incubation | None, command: RecordSupport, situation: Situation
) -> SupportRecorded:
    """§1 support to a resident; funding needs its type and an exact amount, and no listing."""
    s = in_status(
        known_incubation(state, command.incubation_id), frozenset({"incubating"}), "record support"
    )
    assert s.started_on is not None
    found = _terms(command, situation)
    found += rules.text_present("description", command.description, "扶持内容")
    found += rules.date_order(
        "given_on",
        s.started_on,
        command.given_on,
        "扶持日期早于入驻",
        "support given before moving in",
    )
    reject_any(found)
    amount = None if command.amount_yuan is None else f"{command.amount_yuan:.2f}"
    return SupportRecorded(
        incubation_id=s.incubation_id,
        uscc=s.uscc,
        base_id=s.base_id,
        support_type=command.support_type,
        funding_type=command.funding_type,
        amount_yuan=amount,
        description=command.description,
        given_on=command.given_on,
    )


def _terms(command: RecordSupport, situation: Situation) -> list[RuleViolation]:
    """A known type; funding with a known funding type, an exact amount and no listing."""
    found = violation_if(
        command.support_type not in rules.SUPPORT_TYPES,
        "support_type_unknown",
        "support_type",
        f"未知的扶持类型：{command.support_type}",
        f"unknown support type {command.support_type}",
    )
    if command.support_type != "funding":
        return (
            found
            + violation_if(
                command.funding_type is not None,
                "funding_type_not_funding",
                "funding_type",
                "非资金扶持不填资金类型",
                "only funding has a funding type",
            )
            + rules.money("amount_yuan", command.amount_yuan, required=False)
        )
    return (
        found
        + violation_if(
            command.funding_type not in rules.FUNDING_TYPES,
            "funding_type_unknown",
            "funding_type",
            "资金类型缺失或未知",
            "funding needs a known funding type",
        )
        + rules.money("amount_yuan", command.amount_yuan, required=True)
        + rules.not_listed(situation.agency)
    )
