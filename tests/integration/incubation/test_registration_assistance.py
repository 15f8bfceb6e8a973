"""注册协助 across services on the real broker (issue 11 §2).

A group in preparation (no credit code) is taken on by a base, applies, is admitted and funded
under its provisional id; the registry registers it naming that id; the incubation service links
the group and its incubation, so the stay, its support and the training attendance follow the
agency. A group not registered within six months is flagged by the scheduled check, once.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from servicekit.auth import Role
from tests.integration.incubation.world import World, new_id, world
from tests.support import auth, registration, uscc_for, wait_for

pytestmark = pytest.mark.infra


@pytest.fixture
async def w(service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    monkeypatch.setenv("INCUBATION_CHECK_INTERVAL_SECONDS", "0")  # the test runs the check
    async with world() as both:
        yield both


async def take_on(w: World, recorded_on: str = "2023-04-03", group: str | None = None) -> str:
    group = group or new_id()
    operator = auth(Role.BASE_OPERATOR, base=w.base_id)
    answer = await w.incubation.post(
        "/commands/record-group-in-preparation",
        json={
            "provisional_id": group,
            "base_id": w.base_id,
            "name": "郑州市金水区惠民社会工作服务中心（筹）",
            "kind": "service_agency",
            "reporting_unit": "jinshui",
            "contact_person": "赵敏",
            "recorded_on": recorded_on,
        },
        headers=operator,
    )
    assert answer.status_code == 201, answer.text
    return group


async def get(w: World, path: str, **params: Any) -> Any:
    answer = await w.incubation.get(path, params=params, headers=auth())
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_an_assisted_group_is_admitted_and_its_history_follows_the_agency(w: World) -> None:
    await w.base()
    group = await take_on(w)
    assert (await get(w, f"/agencies/{group}"))["status"] == "preparing"

    # A first application refused: the link takes the group's every stay, whatever its status.
    refused = await w.apply(group)
    await w.ok(
        "reject-application",
        {"incubation_id": refused, "reasons": ["材料不全"], "rejected_on": "2023-04-20"},
    )
    incubation_id = await w.admit(group, "301")  # applied, reviewed, approved, signed, moved in
    await w.ok(
        "record-support",
        {
            "incubation_id": incubation_id,
            "support_type": "registration_help",
            "description": "协助准备章程与登记材料",
            "given_on": "2023-07-10",
        },
    )
    await w.ok(
        "record-support",
        {
            "incubation_id": incubation_id,
            "support_type": "funding",
            "funding_type": "seed_fund",
            "amount_yuan": "20000.00",
            "description": "种子基金",
            "given_on": "2023-07-20",
        },
    )
    await w.ok(
        "record-training",
        {
            "base_id": w.base_id,
            "session_id": new_id(),
            "title": "社会组织登记实务",
            "held_on": "2023-08-01",
            "hours": "3",
            "attendees": 2,
            "agency_usccs": [group],
        },
    )

    # The registry registers the group naming its provisional id.
    body = registration(0)
    uscc = uscc_for(random.randint(10**8, 31**9 - 1), unit_code="410105")
    body.update(uscc=uscc, provisional_id=group, registered_on="2023-09-01")
    answer = await w.registry.post("/commands/register-agency", json=body, headers=auth())
    assert answer.status_code == 201, answer.text

    async def linked() -> bool:
        found = await get(w, f"/incubations/{incubation_id}")
        return bool(found["uscc"] == uscc)

    await wait_for(linked)
    stay = await get(w, f"/incubations/{incubation_id}")
    assert (stay["status"], stay["provisional_id"]) == ("incubating", group)
    first = await get(w, f"/incubations/{refused}")
    assert (first["status"], first["uscc"], first["provisional_id"]) == ("rejected", uscc, group)
    support = await get(w, "/support", uscc=uscc)
    assert sorted(s["support_type"] for s in support) == ["funding", "registration_help"]
    assert await get(w, "/support", uscc=group) == []
    [training] = await get(w, f"/bases/{w.base_id}/trainings")
    assert training["agency_usccs"] == [uscc]
    [row] = await get(w, "/groups", base_id=w.base_id)
    assert (row["status"], row["uscc"], str(row["registered_on"])) == (
        "registered",
        uscc,
        "2023-09-01",
    )
    # The agency holds the group's applications now; the provisional id is no longer an applicant.
    applications = await get(w, "/applications", uscc=uscc)
    assert sorted(a["incubation_id"] for a in applications) == sorted([refused, incubation_id])
    gone = await w.incubation.get(f"/agencies/{group}", headers=auth())
    assert gone.status_code == 404
    again = await w.command(
        "submit-application",
        {
            "incubation_id": new_id(),
            "base_id": w.base_id,
            "call_id": w.call_id,
            "uscc": group,
            "submitted_on": "2023-04-20",
        },
    )
    assert again.status_code == 422, again.text


async def test_a_rebuild_does_not_link_a_group_its_registration_did_not_find(w: World) -> None:
    """A registration naming a group this service has not recorded is declined (an unknown
    group), and the decline is recorded. The group is then taken on and admitted under its
    provisional id. A rebuild of the registry's agencies replays the registration: it must
    answer from the recorded decline, not link the group's stay now, against today's state."""
    await w.base()
    group = new_id()
    body = registration(0)
    uscc = uscc_for(random.randint(10**8, 31**9 - 1), unit_code="410105")
    body.update(uscc=uscc, provisional_id=group, registered_on="2023-03-01")
    answer = await w.registry.post("/commands/register-agency", json=body, headers=auth())
    assert answer.status_code == 201, answer.text
    await w.known(uscc, "active")  # applied, the group's link declined in the same transaction
    await take_on(w, group=group)
    incubation_id = await w.admit(group, "301")

    rebuild = await w.incubation.post(
        "/admin/consumers/incubation.registry-agencies/rebuild", headers=auth()
    )
    assert rebuild.status_code == 202, rebuild.text

    async def replayed() -> bool:
        return (await w.incubation.get("/health/ready")).status_code == 200

    await wait_for(replayed, timeout=60)
    await w.known(uscc, "active")  # the agencies' view is back
    stay = await get(w, f"/incubations/{incubation_id}")
    assert (stay["uscc"], stay["provisional_id"]) == (group, None)
    [row] = await get(w, "/groups", base_id=w.base_id)
    assert (row["status"], row["uscc"]) == ("preparing", None)


async def test_a_group_not_registered_in_six_months_is_flagged_once(w: World) -> None:
    await w.base()
    group = await take_on(w, "2023-04-03")  # deadline 2023-10-03, in the holiday: 10-07 (§203)

    async def check(as_of: str) -> list[str]:
        answer = await w.incubation.post(
            "/commands/run-scheduled-checks", json={"as_of": as_of}, headers=auth()
        )
        assert answer.status_code == 200, answer.text
        flagged: list[str] = answer.json()["groups_overdue"]
        return flagged

    assert group not in await check("2023-10-07")
    assert group in await check("2023-10-08")
    assert group not in await check("2024-01-01")  # recorded once
    [row] = await get(w, "/groups", base_id=w.base_id)
    assert (row["status"], str(row["overdue_on"])) == ("preparing", "2023-10-08")
    unit_officer = auth(Role.UNIT_OFFICER, unit="jinshui")
    refused = await w.incubation.post(
        "/commands/run-scheduled-checks", json={"as_of": "2023-10-08"}, headers=unit_officer
    )
    assert refused.status_code == 403


async def test_only_the_base_or_civil_affairs_take_a_group_on(w: World) -> None:
    await w.base()
    other_operator = auth(Role.BASE_OPERATOR, base=new_id())
    answer = await w.incubation.post(
        "/commands/record-group-in-preparation",
        json={
            "provisional_id": new_id(),
            "base_id": w.base_id,
            "name": "某筹备组",
            "kind": "service_agency",
            "reporting_unit": "jinshui",
            "contact_person": "钱七",
            "recorded_on": "2023-04-03",
        },
        headers=other_operator,
    )
    assert answer.status_code == 403, answer.text
