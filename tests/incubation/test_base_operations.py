"""The base as an operation: its staff and its funding by source, in its evaluation (§6)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from services.incubation.domain.commands import EvaluateBase, RecordBaseFunding, RecordBaseStaff
from services.incubation.domain.situation import BaseFigures, Situation
from tests.incubation.given import BASE_ID, D, given_base, ready_base


def staff(full_time: int, qualified: int, day: Any = None) -> RecordBaseStaff:
    return RecordBaseStaff(
        base_id=BASE_ID, full_time=full_time, qualified=qualified, counted_on=day or D(2024, 1, 2)
    )


def funding(fid: str, source: str, amount: str, day: Any) -> RecordBaseFunding:
    return RecordBaseFunding.model_validate(
        {
            "base_id": BASE_ID,
            "funding_id": fid,
            "source": source,
            "purpose": "operation",
            "payer": "金水区财政局" if source == "budget" else "某公益基金会",
            "amount_yuan": amount,
            "received_on": day,
        }
    )


@pytest.mark.parametrize(("full_time", "qualified"), [(3, 4), (-1, 0), (3, -1)])
def test_staff_counts_are_consistent(full_time: int, qualified: int) -> None:
    assert "staff_counts_invalid" in str(
        given_base(ready_base()).when(staff(full_time, qualified)).then_rejected()
    )


def test_funding_needs_an_exact_positive_amount_and_is_recorded_once() -> None:
    [event], base = (
        given_base(ready_base()).when(funding("f1", "budget", "300000", D(2024, 3, 15))).outcome
    )
    assert (event.source, event.amount_yuan) == ("budget", "300000.00")
    given_base(base).when(funding("f1", "other", "1", D(2024, 3, 16))).then_refused(
        "duplicate_base_funding"
    )
    assert "amount_yuan_invalid" in str(
        given_base(base).when(funding("f2", "other", "0", D(2024, 3, 16))).then_rejected()
    )


def test_the_evaluation_shows_staff_at_the_period_end_and_funding_by_source() -> None:
    base = ready_base()
    for command in (
        staff(4, 1, D(2023, 4, 1)),
        staff(5, 3, D(2023, 12, 31)),  # the period's last day counts
        staff(6, 2, D(2024, 1, 1)),  # after the period: not this evaluation's
        funding("b1", "budget", "200000", D(2023, 1, 1)),
        funding("b2", "budget", "100000.50", D(2023, 12, 31)),
        funding("o1", "other", "30000", D(2023, 6, 1)),
        funding("b3", "budget", "999", D(2024, 1, 1)),
    ):
        base = given_base(base).when(command).state
    figures = BaseFigures(1, 2, 1, 0, "0.00", 0, "0", 0, 3, "120.50", 200)
    evaluate = EvaluateBase(
        base_id=BASE_ID,
        evaluation_id="ev-1",
        period_start=D(2023, 1, 1),
        period_end=D(2023, 12, 31),
        conclusion="good",
        evaluator="金水区民政局",
        evaluated_on=D(2024, 1, 15),
    )
    [event], _ = given_base(base, Situation(figures=figures)).when(evaluate).outcome
    assert (event.staff_full_time, event.staff_qualified) == (5, 3)
    assert Decimal(event.funding_budget_yuan) == Decimal("300000.50")
    assert event.funding_other_yuan == "30000.00"
    services = (event.service_projects, event.service_hours, event.service_beneficiaries)
    assert services == (3, "120.50", 200)
