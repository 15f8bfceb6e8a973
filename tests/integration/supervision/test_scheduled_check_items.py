"""The scheduled check under hostile input (issue 9, item 7): a client key cannot wedge it, a date
after today is refused, and one failing item never blocks the others."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import uuid
from typing import Any, cast

import pytest
from socialwork_contracts.periods import LOCAL_TIME_ZONE

from services.supervision.domain import inspection
from services.supervision.domain.commands import MarkRectificationOverdue
from services.supervision.domain.decide import decide
from services.supervision.domain.policy import InspectionPolicy
from services.supervision.handlers import COMMANDS, CREDIT_FILE
from tests.integration.supervision.conftest import Apps
from tests.support import auth, stored_events

pytestmark = pytest.mark.infra
CHECKS = "/commands/run-scheduled-checks"


async def ordered_rectification(
    apps: Apps, deadline: str = "2024-04-30", key: str | None = None
) -> str:
    """A newly registered agency with a violation and a rectification due by `deadline`."""
    # A fresh credit code: the shared broker's topics still hold earlier runs' agencies.
    serial = random.randint(10**8, 31**9 - 1)
    uscc = await apps.register(serial)
    violation_id, rectification_id = str(uuid.uuid4()), str(uuid.uuid4())
    headers = auth() if key is None else {**auth(), "Idempotency-Key": key}
    found = await apps.supervision.post(
        "/commands/record-violation",
        json={
            "uscc": uscc,
            "violation_id": violation_id,
            "category": "office_subletting",
            "severity": "serious",
            "facts": "检查发现该机构将办公室转借他人使用",
            "evidence_ref": f"JC-{serial}",
            "found_on": "2024-04-08",
        },
        headers=headers,
    )
    assert found.status_code == 201, found.text
    ordered = await apps.supervision.post(
        "/commands/order-rectification",
        json={
            "uscc": uscc,
            "rectification_id": rectification_id,
            "violation_id": violation_id,
            "requirements": "立即收回办公室，提交书面整改报告",
            "deadline": deadline,
            "ordered_on": "2024-04-09",
        },
        headers=auth(),
    )
    assert ordered.status_code == 201, ordered.text
    return rectification_id


async def test_a_client_key_named_like_a_system_id_cannot_wedge_the_check(apps: Apps) -> None:
    first = await ordered_rectification(apps)
    # Another agency's violation sent with the key the check will use for the first item.
    await ordered_rectification(apps, deadline="2024-06-30", key=f"overdue:{first}")
    checked = await apps.supervision.post(CHECKS, json={"as_of": "2024-05-01"}, headers=auth())
    assert checked.status_code == 200, checked.text
    assert checked.json()["overdue"] == [first]


async def test_a_date_after_today_is_refused_and_nothing_is_recorded(
    apps: Apps, database_url: str
) -> None:
    rectification_id = await ordered_rectification(apps)
    before = await stored_events(database_url, "supervision")
    today = dt.datetime.now(LOCAL_TIME_ZONE).date()
    tomorrow = today + dt.timedelta(days=1)
    refused = await apps.supervision.post(
        CHECKS, json={"as_of": tomorrow.isoformat()}, headers=auth()
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "future_date"
    assert await stored_events(database_url, "supervision") == before

    checked = await apps.supervision.post(CHECKS, json={"as_of": today.isoformat()}, headers=auth())
    assert checked.status_code == 200, checked.text
    assert checked.json()["overdue"] == [rectification_id]


async def test_one_run_long_after_records_each_fact_that_time_makes_due_in_turn(
    apps: Apps,
) -> None:
    """A check run long after a deadline (the service down for months, the first run after a
    restore) records in one run what each fact in turn makes due: the rectification overdue,
    then its abnormal listing's escalation to the serious list two years later."""
    rectification_id = await ordered_rectification(apps)  # overdue from 2024-05-01
    checked = await apps.supervision.post(CHECKS, json={"as_of": "2026-06-01"}, headers=auth())
    assert checked.status_code == 200, checked.text
    found = checked.json()
    assert (found["overdue"], len(found["escalated"])) == ([rectification_id], 1)


async def test_one_failing_item_does_not_stop_the_others(
    apps: Apps, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = await ordered_rectification(apps, deadline="2024-04-20")
    others = [await ordered_rectification(apps) for _ in range(2)]

    def decide_failing_one_item(state: Any, command: Any, agency: Any) -> Any:
        if isinstance(command, MarkRectificationOverdue) and command.rectification_id == failing:
            raise RuntimeError("injected failure")
        return decide(state, command, agency)

    # The check runs its commands as every other caller does: through the service's table.
    failing_file = dataclasses.replace(CREDIT_FILE, decide=decide_failing_one_item)
    table = cast("dict[Any, Any]", COMMANDS)
    monkeypatch.setitem(table, MarkRectificationOverdue, failing_file)
    checked = await apps.supervision.post(CHECKS, json={"as_of": "2024-05-01"}, headers=auth())
    assert checked.status_code == 200, checked.text
    report = checked.json()
    assert sorted(report["overdue"]) == sorted(others)
    assert (report["succeeded"], report["failed"]) == (2, 1)
    assert report["failures"] == [f"overdue:{failing}"]

    monkeypatch.setitem(table, MarkRectificationOverdue, CREDIT_FILE)  # tried again next run
    again = await apps.supervision.post(CHECKS, json={"as_of": "2024-05-01"}, headers=auth())
    assert again.json()["overdue"] == [failing]


async def test_a_deadline_on_a_holiday_is_overdue_after_the_next_working_day(apps: Apps) -> None:
    """Civil Code §203 in the scheduled check: due 2024-10-01 (National Day) -> last day
    2024-10-08 -> overdue from 2024-10-09, not 2024-10-02."""
    rid = await ordered_rectification(apps, deadline="2024-10-01")
    on_last_day = await apps.supervision.post(CHECKS, json={"as_of": "2024-10-08"}, headers=auth())
    assert rid not in on_last_day.json()["overdue"]
    after = await apps.supervision.post(CHECKS, json={"as_of": "2024-10-09"}, headers=auth())
    assert rid in after.json()["overdue"]


async def test_a_missing_annual_report_is_listed_by_time_alone(
    apps: Apps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """issue 11 §3: the clock runs the annual cycle (here for working year 2023, due
    2024-05-31); an agency that filed, and one registered after 30 June, are left alone."""
    policy = InspectionPolicy(
        valid_from=dt.date(2023, 1, 1), mode="inspection", clock_lists_missing_report=True
    )
    monkeypatch.setattr(inspection, "INSPECTION_POLICIES", (policy,))
    monkeypatch.setattr(inspection, "year_policy", lambda year: policy)
    serial = random.randint(10**8, 31**9 - 1)
    silent = await apps.register(serial, registered_on="2020-03-01")
    filed = await apps.register(serial + 1, registered_on="2020-03-01")
    newcomer = await apps.register(serial + 2, registered_on="2023-07-01")
    concluded = await apps.supervision.post(
        "/commands/conclude-annual-inspection",
        json={
            "uscc": filed,
            "inspection_id": str(uuid.uuid4()),
            "year": 2023,
            "conclusion": "qualified",
            "concluded_on": "2024-05-20",
        },
        headers=auth(),
    )
    assert concluded.status_code == 201, concluded.text

    def ours(report: dict[str, Any]) -> list[str]:
        mine = {silent, filed, newcomer}
        return [r for r in report["reports_overdue"] if r.split(":")[0] in mine]

    on_deadline = await apps.supervision.post(CHECKS, json={"as_of": "2024-05-31"}, headers=auth())
    assert ours(on_deadline.json()) == []
    after = await apps.supervision.post(CHECKS, json={"as_of": "2024-06-01"}, headers=auth())
    assert ours(after.json()) == [f"{silent}:2023"]
    again = await apps.supervision.post(CHECKS, json={"as_of": "2024-06-02"}, headers=auth())
    assert ours(again.json()) == []
    abnormal = await apps.supervision.get(
        "/credit-lists/abnormal", params={"as_of": "2024-06-01"}, headers=auth()
    )
    grounds = {(x["uscc"], x["ground"]) for x in abnormal.json()["items"]}
    assert (silent, "annual_report_not_filed") in grounds
    assert not {filed, newcomer} & {u for u, _ in grounds}
