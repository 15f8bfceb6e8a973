"""The base as an operation (guidance §3.4, §6.1, §6.3): its full-time staff and its own money.

专职人员: the base keeps full-time staff, qualified social workers preferred (§3.4); a count holds
until the next. 经费: the base's construction and operating money belongs in the budget (§6.1
纳入财政预算) with other sources encouraged (§2.3 资金来源多元化); each receipt is recorded with
its source. Both appear in the base's evaluation (基地运行评估) and in the half-year reports.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from socialwork_contracts.incubation import BaseFundingRecorded, BaseStaffRecorded

from servicekit.decisions import InvalidTransition, RuleViolation, reject_any
from services.incubation.domain import rules
from services.incubation.domain.commands import RecordBaseFunding, RecordBaseStaff
from services.incubation.domain.incubation_base import IncubationBase, StaffCount, open_base
from services.incubation.domain.situation import BaseFigures


def record_staff(state: IncubationBase | None, command: RecordBaseStaff) -> BaseStaffRecorded:
    """A count: 0 ≤ qualified ≤ full-time, on or after the base was established."""
    base = open_base(state, command.base_id)
    found: list[RuleViolation] = []
    if command.full_time < 0 or not 0 <= command.qualified <= command.full_time:
        found.append(
            RuleViolation(
                "staff_counts_invalid",
                "qualified",
                "专职人员数不能为负，持证人数应在0与专职人员数之间",
                "full_time >= 0 and 0 <= qualified <= full_time",
            )
        )
    found += rules.date_order(
        "counted_on",
        base.established_on,
        command.counted_on,
        "统计日期早于基地建成",
        "counted before the base was established",
    )
    reject_any(found)
    return BaseStaffRecorded(
        base_id=base.base_id,
        full_time=command.full_time,
        qualified=command.qualified,
        counted_on=command.counted_on,
    )


def record_funding(state: IncubationBase | None, command: RecordBaseFunding) -> BaseFundingRecorded:
    """A receipt, once per id; construction money may predate the base's establishment."""
    base = open_base(state, command.base_id)
    if any(f.funding_id == command.funding_id for f in base.funds):
        raise InvalidTransition(
            "duplicate_base_funding", "该经费已记录", f"funding {command.funding_id} exists"
        )
    reject_any(
        rules.money("amount_yuan", command.amount_yuan, required=True)
        + rules.text_present("payer", command.payer, "出资方")
    )
    return BaseFundingRecorded(
        base_id=base.base_id,
        funding_id=command.funding_id,
        source=command.source,
        purpose=command.purpose,
        payer=command.payer,
        amount_yuan=f"{command.amount_yuan:.2f}",
        received_on=command.received_on,
    )


def staff_on(base: IncubationBase, day: dt.date) -> StaffCount | None:
    """The latest count on or before `day` (a later record of the same day wins)."""
    counted = [c for c in base.staff if c.counted_on <= day]
    return max(counted, key=lambda c: c.counted_on) if counted else None


def funds_by_source(base: IncubationBase, start: dt.date, end: dt.date) -> dict[str, Decimal]:
    """Money received in [start, end] by source (budget, other)."""
    totals = {"budget": Decimal(0), "other": Decimal(0)}
    for funds in base.funds:
        if start <= funds.received_on <= end:
            totals[funds.source] = totals.get(funds.source, Decimal(0)) + funds.amount
    return totals


def evaluation_figures(
    base: IncubationBase, start: dt.date, end: dt.date, figures: BaseFigures
) -> dict[str, Any]:
    """The staff, funding-source and service figures a base evaluation records (1.3.0 fields)."""
    staff = staff_on(base, end)
    funds = funds_by_source(base, start, end)
    return {
        "staff_full_time": staff.full_time if staff else None,
        "staff_qualified": staff.qualified if staff else None,
        "funding_budget_yuan": f"{funds['budget']:.2f}",
        "funding_other_yuan": f"{funds['other']:.2f}",
        "service_projects": figures.service_projects,
        "service_hours": figures.service_hours,
        "service_beneficiaries": figures.service_beneficiaries,
    }
