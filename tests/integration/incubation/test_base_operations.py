"""Bases as operations, services delivered and the term of a stay, across services on the real
broker (issue 11 §6): recorded over HTTP in incubation, shown in the base's evaluation, flagged by
the scheduled check once, and counted by reporting in the half-year report of the base's unit."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from socialwork_contracts.periods import LOCAL_TIME_ZONE

from servicekit.auth import Role
from services.reporting.app import create_app as create_reporting
from tests.integration.apphost import running
from tests.integration.incubation.world import World, new_id, world
from tests.support import auth, wait_for

pytestmark = pytest.mark.infra

UNIT, CODE = "xingyang", "410182"  # a unit no other integration test writes to


@pytest.fixture
async def w(service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    monkeypatch.setenv("INCUBATION_CHECK_INTERVAL_SECONDS", "0")  # the test runs the check
    async with world() as both:
        yield both


def services(incubation_id: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {
        "incubation_id": incubation_id,
        "record_id": new_id(),
        "period_start": start,
        "period_end": end,
        "projects": 2,
        "service_hours": "120.5",
        "beneficiaries": 300,
        "description": "社区长者探访与互助小组",
        **extra,
    }


def funding(w: World, source: str, amount: str, day: str) -> dict[str, Any]:
    return {
        "base_id": w.base_id,
        "funding_id": new_id(),
        "source": source,
        "purpose": "operation",
        "payer": "荥阳市财政局" if source == "budget" else "某公益基金会",
        "amount_yuan": amount,
        "received_on": day,
    }


async def half_year(client: httpx.AsyncClient, year: int, half: str) -> dict[str, Any]:
    answer = await client.get(
        "/reports/half-year", params={"year": year, "half": half, "unit": UNIT}, headers=auth()
    )
    assert answer.status_code == 200, answer.text
    row: dict[str, Any] = answer.json()["units"][0]
    return row


async def test_staff_funding_services_and_flags_reach_the_evaluation_and_the_reports(
    w: World,
) -> None:
    await w.base(unit=UNIT)
    operator = auth(Role.BASE_OPERATOR, base=w.base_id)
    staff = {"base_id": w.base_id, "full_time": 5, "qualified": 3, "counted_on": "2023-03-02"}
    answer = await w.incubation.post("/commands/record-base-staff", json=staff, headers=operator)
    assert answer.status_code == 201, answer.text
    await w.ok("record-base-funding", funding(w, "budget", "300000", "2023-03-10"))
    await w.ok("record-base-funding", funding(w, "other", "50000.50", "2023-04-01"))
    group = {
        "provisional_id": new_id(), "base_id": w.base_id,
        "name": "荥阳市康乐社会工作服务中心（筹）", "kind": "service_agency",
        "reporting_unit": UNIT, "contact_person": "孙丽",
        "recorded_on": "2023-05-08",
    }  # fmt: skip
    await w.ok("record-group-in-preparation", group)
    resident = await w.admit(await w.register(UNIT, CODE), "301")  # 2023-07-03 .. 2024-07-02
    answer = await w.incubation.post(
        "/commands/record-professional-services",
        json=services(resident, "2023-07-03", "2023-09-30"),
        headers=operator,
    )
    assert answer.status_code == 201, answer.text

    await w.ok(
        "evaluate-base",
        {
            "base_id": w.base_id,
            "evaluation_id": new_id(),
            "period_start": "2023-01-01",
            "period_end": "2023-12-31",
            "conclusion": "good",
            "evaluator": "荥阳市民政局",
            "evaluated_on": "2024-01-15",
        },
    )
    found = await w.incubation.get(f"/bases/{w.base_id}/evaluations", headers=auth())
    [evaluation] = found.json()
    keys = ("staff_full_time", "staff_qualified", "funding_budget_yuan", "funding_other_yuan",
            "service_projects", "service_hours", "service_beneficiaries")  # fmt: skip
    assert tuple(evaluation[k] for k in keys) == (5, 3, "300000.00", "50000.50", 2, "120.50", 300)

    async def check(as_of: str) -> dict[str, Any]:
        answer = await w.incubation.post(
            "/commands/run-scheduled-checks", json={"as_of": as_of}, headers=auth()
        )
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    tomorrow = dt.datetime.now(LOCAL_TIME_ZONE).date() + dt.timedelta(days=1)
    ahead = await w.incubation.post(
        "/commands/run-scheduled-checks", json={"as_of": tomorrow.isoformat()}, headers=auth()
    )
    assert (ahead.status_code, ahead.json()["code"]) == (422, "future_date")
    # The day before 90 quiet days are up (since 2023-09-30): not yet inactive.
    assert (await check("2023-12-28"))["inactive"] == []
    # Two runs at once (two replicas' clocks): each flag is recorded by one of them only.
    one, two = await asyncio.gather(check("2024-07-10"), check("2024-07-10"))
    assert one["inactive"] + two["inactive"] == [resident]  # quiet since 2023-09-30
    assert one["terms_overrun"] + two["terms_overrun"] == [resident]  # term ended 2024-07-02
    again = await check("2024-07-10")
    assert (again["inactive"], again["terms_overrun"]) == ([], [])  # recorded once

    async with running(create_reporting) as reporting:

        async def counted() -> bool:
            row = await half_year(reporting, 2024, "year_end")
            return bool(row["stays_past_term"] == 1)

        await wait_for(counted, timeout=30)
        year_2023 = await half_year(reporting, 2023, "year_end")
        counts = ("base_staff_full_time", "base_staff_qualified", "base_funding_budget_yuan",
                "base_funding_other_yuan", "services_agencies", "services_projects",
                "services_hours", "services_beneficiaries", "stays_inactive", "base_evaluations",
                "offices_allottable", "offices_occupied", "groups_taken_on",
                "groups_preparing")  # fmt: skip
        assert tuple(year_2023[k] for k in counts) == (
            5, 3, "300000.00", "50000.50", 1, 2, "120.5", 300, 1, 0, 2, 1, 1, 1
        )  # fmt: skip
        assert (await half_year(reporting, 2024, "mid_year"))["base_evaluations"] == 1


async def test_what_the_base_may_not_record_and_the_default_term(w: World) -> None:
    await w.base(unit=UNIT)
    operator = auth(Role.BASE_OPERATOR, base=w.base_id)
    money = funding(w, "budget", "1000", "2023-03-10")
    refused = await w.incubation.post("/commands/record-base-funding", json=money, headers=operator)
    assert refused.status_code == 403  # the base's money is civil affairs' record
    bad = {"base_id": w.base_id, "full_time": 2, "qualified": 3, "counted_on": "2023-03-02"}
    answer = await w.command("record-base-staff", bad)
    assert answer.status_code == 422, answer.text
    assert {e["code"] for e in answer.json()["errors"]} == {"staff_counts_invalid"}

    uscc = await w.register(UNIT, CODE)
    incubation_id = await w.apply(uscc)
    await w.review(incubation_id)
    await w.ok("approve-application", w.approval(incubation_id))
    agreement = w.agreement(incubation_id, "301")
    del agreement["term_end"]  # the default term in force applies
    await w.ok("sign-agreement", agreement)
    found = await w.incubation.get(f"/incubations/{incubation_id}", headers=auth())
    assert found.json()["agreement"]["term_end"] == "2024-07-02"
    await w.ok("start-incubation", {"incubation_id": incubation_id, "started_on": "2023-07-03"})
    spans = services(incubation_id, "2023-12-01", "2024-01-31")
    answer = await w.command("record-professional-services", spans)
    assert answer.status_code == 422, answer.text
    assert {e["code"] for e in answer.json()["errors"]} == {"period_spans_half_years"}
    flag = {"incubation_id": incubation_id, "overrun_on": "2024-07-03"}
    assert (await w.command("mark-term-overrun", flag)).status_code == 404  # the clock's only
