"""基地运行评估 (issue 11 §6, guidance §6.3): a periodic evaluation of a base's operation records
the platform's own figures for the period and the evaluators' conclusion."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from servicekit.auth import Role
from tests.integration.incubation.world import ALL_MET, World, new_id, world
from tests.support import auth

pytestmark = pytest.mark.infra


@pytest.fixture
async def w(service_env: dict[str, str]) -> AsyncIterator[World]:
    async with world() as both:
        yield both


def evaluation(w: World, start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {
        "base_id": w.base_id,
        "evaluation_id": new_id(),
        "period_start": start,
        "period_end": end,
        "conclusion": "good",
        "evaluator": "金水区民政局",
        "remarks": "场地利用充分",
        "evaluated_on": "2024-01-15",
        **extra,
    }


async def test_a_base_evaluation_records_the_periods_figures(w: World) -> None:
    await w.base()
    first, second = await w.register(), await w.register()
    a = await w.admit(first, "301")  # both move in on 2023-07-03
    await w.admit(second, "302")
    await w.ok(
        "record-support",
        {
            "incubation_id": a,
            "support_type": "funding",
            "funding_type": "seed_fund",
            "amount_yuan": "12000.50",
            "description": "种子基金",
            "given_on": "2023-08-01",
        },
    )
    for day, hours in (("2023-09-01", "3.5"), ("2024-02-01", "2")):
        await w.ok(
            "record-training",
            {
                "base_id": w.base_id,
                "session_id": new_id(),
                "title": "项目管理",
                "held_on": day,
                "hours": hours,
                "attendees": 10,
                "agency_usccs": [first],
            },
        )
    await w.ok(
        "graduate-agency",
        {
            "incubation_id": a,  # funded: a graduation criterion
            "assessment": ALL_MET,
            "assessment_summary": "达标",
            "graduated_on": "2023-12-20",
        },
    )
    await w.ok("evaluate-base", evaluation(w, "2023-01-01", "2023-12-31"))
    answer = await w.incubation.get(f"/bases/{w.base_id}/evaluations", headers=auth())
    assert answer.status_code == 200, answer.text
    [found] = answer.json()
    figures = {k: found[k] for k in (
        "offices", "offices_occupied", "incubations_started", "graduations", "terminations",
        "funding_yuan", "training_sessions", "training_hours", "training_attendees",
        "conclusion")}  # fmt: skip
    assert figures == {
        "offices": 2,
        "offices_occupied": 1,  # the graduate left on 2023-12-20
        "incubations_started": 2,
        "graduations": 1,
        "terminations": 0,
        "funding_yuan": "12000.50",
        "training_sessions": 1,  # the February 2024 session is outside the period
        "training_hours": "3.50",
        "training_attendees": 10,
        "conclusion": "good",
    }


async def test_an_evaluation_is_civil_affairs_work_and_checks_its_dates(w: World) -> None:
    await w.base()
    operator = auth(Role.BASE_OPERATOR, base=w.base_id)
    body = evaluation(w, "2023-01-01", "2023-12-31")
    refused = await w.incubation.post("/commands/evaluate-base", json=body, headers=operator)
    assert refused.status_code == 403
    early = await w.command("evaluate-base", evaluation(w, "2023-01-01", "2024-06-30"))
    assert early.status_code == 422, early.text
    assert {e["code"] for e in early.json()["errors"]} == {"evaluated_on_too_early"}
