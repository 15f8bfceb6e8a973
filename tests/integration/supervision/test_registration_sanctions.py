"""A suspension or revocation entered in the registry reaches the serious list (issue 11 §1).

Whether an agency is listed must not depend on the screen the officer used: the registry owns
the registration decision, supervision reacts with the credit consequence (domain.md "Serious
list": suspension for a period, registration revoked). A revocation decided as a penalty in
supervision is listed once, not again when the registry follows it.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from servicekit.auth import Role
from tests.integration.supervision.conftest import Apps
from tests.support import auth, wait_for

pytestmark = pytest.mark.infra


async def serious(apps: Apps, uscc: str, as_of: str) -> list[tuple[str, str]]:
    answer = await apps.supervision.get(
        "/credit-lists/serious", params={"as_of": as_of}, headers=auth(Role.AUDITOR)
    )
    assert answer.status_code == 200, answer.text
    return [(x["ground"], x["listed_on"]) for x in answer.json()["items"] if x["uscc"] == uscc]


async def registry_command(apps: Apps, name: str, body: dict[str, Any]) -> None:
    answer = await apps.registry.post(f"/commands/{name}", json=body, headers=auth())
    assert answer.status_code == 201, answer.text


async def test_revocation_in_the_registry_lists_the_agency(apps: Apps) -> None:
    uscc = await apps.register(4301)
    await registry_command(
        apps,
        "revoke-agency-registration",
        {
            "uscc": uscc,
            "reason": "以欺骗手段取得登记",
            "decision_document": "郑民撤〔2022〕3号",
            # Early in the local day: still 2022-06-14 in UTC. The list is dated locally.
            "occurred_at": "2022-06-15T07:30:00+08:00",
        },
    )

    async def listed() -> list[tuple[str, str]]:
        return await serious(apps, uscc, "2022-12-31")

    assert await wait_for(listed) == [("revoked", "2022-06-15")]
    assert await serious(apps, uscc, "2022-06-14") == []  # not before the revocation date


async def test_suspension_in_the_registry_lists_the_agency(apps: Apps) -> None:
    uscc = await apps.register(4302)
    await registry_command(
        apps,
        "suspend-agency",
        {
            "uscc": uscc,
            "until": "2023-06-30",
            "reason": "限期停止活动三个月",
            "decision_document": "郑民停〔2023〕1号",
            "occurred_at": "2023-03-31T16:00:00+08:00",
        },
    )

    async def listed() -> list[tuple[str, str]]:
        return await serious(apps, uscc, "2023-04-01")

    assert await wait_for(listed) == [("suspension", "2023-03-31")]


async def test_a_revocation_penalty_is_listed_once(apps: Apps) -> None:
    uscc = await apps.register(4303)
    penalty = await apps.supervision.post(
        "/commands/impose-penalty",
        json={
            "uscc": uscc,
            "penalty_id": str(uuid.uuid4()),
            "kind": "revocation",
            "document_number": "郑民罚〔2022〕9号",
            "legal_basis": "《民办非企业单位登记管理暂行条例》第二十五条",
            "deciding_department": "郑州市民政局",
            "decided_on": "2022-08-01",
            "occurred_at": "2022-08-01T10:00:00+08:00",
        },
        headers=auth(),
    )
    assert penalty.status_code == 201, penalty.text

    async def revoked() -> bool:
        agency = (await apps.registry.get(f"/agencies/{uscc}", headers=auth())).json()
        return bool(agency["status"] == "revoked")

    await wait_for(revoked)
    # The registry's revocation came back to supervision; wait until it has been handled.
    await wait_for(lambda: reacted(apps, uscc))
    file = (await apps.supervision.get(f"/credit-files/{uscc}", headers=auth())).json()
    assert [(x["list"], x["ground"]) for x in file["listings"]] == [("serious", "revoked")]
    # One cause: the registry's echo of the penalty neither lists again nor restarts the clock.
    assert [c["ground"] for c in file["listings"][0]["causes"]] == ["revoked"]
    assert [e["type"] for e in file["events"]] == ["PenaltyImposed.v1", "AgencyListed.v1"]


async def reacted(apps: Apps, uscc: str) -> bool:
    conn = await asyncpg.connect(apps.database_url)
    try:
        status = await conn.fetchval(
            "SELECT status FROM supervision.agencies WHERE uscc = $1", uscc
        )
        return bool(status == "revoked")
    finally:
        await conn.close()


async def test_a_staff_drop_below_the_third_is_recorded_and_flagged(apps: Apps) -> None:
    """issue 11 §1: the change is stored (not refused) and supervision records the shortfall
    as a violation an officer can order rectified — once, whatever is redelivered."""
    uscc = await apps.register(4304)  # 6 full-time, 2 qualified
    await registry_command(
        apps,
        "change-agency-staff",
        {
            "uscc": uscc,
            "full_time_staff": 9,
            "qualified_staff": 2,
            "occurred_at": "2024-05-06T09:00:00+08:00",
        },
    )

    async def flagged() -> list[dict[str, Any]]:
        answer = await apps.supervision.get(f"/credit-files/{uscc}", headers=auth())
        return list(answer.json()["violations"]) if answer.status_code == 200 else []

    violations = await wait_for(flagged)
    assert [(v["category"], v["severity"], v["found_on"]) for v in violations] == [
        ("qualified_staff_below_ratio", "minor", "2024-05-06")
    ]
    officer = auth(Role.UNIT_OFFICER, unit="jinshui")
    ordered = await apps.supervision.post(
        "/commands/order-rectification",
        json={
            "uscc": uscc,
            "rectification_id": str(uuid.uuid4()),
            "violation_id": violations[0]["violation_id"],
            "requirements": "三个月内补足持证专职人员",
            "deadline": "2024-08-06",
            "ordered_on": "2024-05-07",
        },
        headers=officer,
    )
    assert ordered.status_code == 201, ordered.text
