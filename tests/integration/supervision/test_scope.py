"""Issue 10, item 6: every supervision read and write is scoped by the agency's unit (and base).

A role matrix over the supervision routes: each endpoint x role x inside/outside the caller's
scope gives the documented status (docs/supervision.md "Authorisation"), and a refused write
stores nothing. The scope comes from what supervision learnt from the registry (the agency's
reporting unit) and from incubation (the bases that incubated it); an agency missing from that
table — as while it is rebuilt — is refused to unit- and base-scoped callers, never allowed.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from servicekit.auth import Role
from tests.integration.supervision.conftest import Apps
from tests.support import auth, registration, wait_for

pytestmark = pytest.mark.infra

CITY, AUDITOR, INTEGRATOR = "city_admin", "auditor", "integrator"
JINSHUI, ERQI = "officer_jinshui", "officer_erqi"
BASE_A, BASE_B = "operator_base_a", "operator_base_b"  # the bases of the jinshui / erqi agency
REFUSED = frozenset({403, 404})  # either way: nothing done, nothing shown


@dataclass(frozen=True)
class World:
    jinshui: str  # uscc of a 金水区 agency incubated at base A (graduated 2024-06-30)
    erqi: str  # uscc of a 二七区 agency resident at base B
    base_a: str
    base_b: str

    def callers(self) -> dict[str, dict[str, str]]:
        return {
            CITY: auth(),
            AUDITOR: auth(Role.AUDITOR),
            INTEGRATOR: auth(Role.INTEGRATOR),
            JINSHUI: auth(Role.UNIT_OFFICER, unit="jinshui"),
            ERQI: auth(Role.UNIT_OFFICER, unit="erqi"),
            BASE_A: auth(Role.BASE_OPERATOR, base=self.base_a),
            BASE_B: auth(Role.BASE_OPERATOR, base=self.base_b),
        }


async def register(apps: Apps, unit: str, unit_code: str) -> str:
    """A new agency of `unit`, known to supervision. A random serial keeps it apart from the
    registrations earlier runs left on the shared broker."""
    body = registration(random.randrange(31**6, 31**8), unit=unit, unit_code=unit_code)
    response = await apps.registry.post("/commands/register-agency", json=body, headers=auth())
    assert response.status_code == 201, response.text
    uscc: str = body["uscc"]
    await wait_for(lambda: apps.known(uscc))
    return uscc


async def build_world(apps: Apps) -> World:
    world = World(
        await register(apps, "jinshui", "410105"),
        await register(apps, "erqi", "410103"),
        str(uuid.uuid4()),
        str(uuid.uuid4()),
    )
    incubation = await apps.resident(world.jinshui, world.base_a, dt.date(2023, 1, 3))
    await apps.graduated(world.jinshui, world.base_a, incubation, dt.date(2024, 6, 30))
    await apps.resident(world.erqi, world.base_b, dt.date(2023, 1, 3))
    for uscc in (world.jinshui, world.erqi):
        for route, body in commands(uscc)[:2]:  # a violation and its open rectification
            response = await apps.supervision.post(route, json=body, headers=auth())
            assert response.status_code == 201, response.text
    return world


def new() -> str:
    return str(uuid.uuid4())


def commands(uscc: str, **ids: str) -> list[tuple[str, dict[str, Any]]]:
    """Every supervision command route once, in an order that succeeds, with fresh ids; or
    aimed at records already in the file: the `violation` to order a rectification for, the
    `rectification` to confirm, the `listing` to end."""
    violation, ordered = ids.get("violation", new()), new()
    confirmed, listing = ids.get("rectification", ordered), ids.get("listing", new())
    project = new()

    return [
        (
            "/commands/record-violation",
            {
                "uscc": uscc,
                "violation_id": violation,
                "category": "commercial_activity",
                "severity": "minor",
                "facts": "开展收费培训",
                "evidence_ref": "E-1",
                "found_on": "2024-03-01",
            },
        ),
        (
            "/commands/order-rectification",
            {
                "uscc": uscc,
                "rectification_id": ordered,
                "violation_id": violation,
                "requirements": "停止收费培训",
                "deadline": "2024-04-30",
                "ordered_on": "2024-03-02",
            },
        ),
        (
            "/commands/confirm-rectification",
            {
                "uscc": uscc,
                "rectification_id": confirmed,
                "verification": "现场核查已停止收费培训",
                "confirmed_on": "2024-03-20",
            },
        ),
        (
            "/commands/impose-penalty",
            {
                "uscc": uscc,
                "penalty_id": new(),
                "kind": "warning",
                "violation_id": violation,
                "document_number": "郑金民罚决字〔2024〕第9号",
                "legal_basis": "《民办非企业单位登记管理暂行条例》第二十五条",
                "deciding_department": "郑州市民政局",
                "decided_on": "2024-03-25",
            },
        ),
        (
            "/commands/conclude-annual-inspection",
            {
                "uscc": uscc,
                "inspection_id": new(),
                "year": 2023,
                "conclusion": "qualified",
                "concluded_on": "2024-05-10",
            },
        ),
        (
            "/commands/award-evaluation-grade",
            {"uscc": uscc, "evaluation_id": new(), "grade": 3, "announced_on": "2024-01-10"},
        ),
        (
            "/commands/record-commendation",
            {
                "uscc": uscc,
                "commendation_id": new(),
                "title": "优秀社会组织",
                "awarding_body": "郑州市民政局",
                "awarded_on": "2024-02-01",
            },
        ),
        (
            "/commands/record-government-project",
            {
                "uscc": uscc,
                "project_id": project,
                "name": "社区养老服务项目",
                "purchaser": "郑州市民政局",
                "amount_yuan": "100000.00",
                "start_on": "2024-01-01",
                "end_on": "2024-12-31",
            },
        ),
        (
            "/commands/evaluate-project-performance",
            {
                "uscc": uscc,
                "evaluation_id": new(),
                "project_id": project,
                "project_name": "社区养老服务项目",
                "score": "90.00",
                "conclusion": "excellent",
                "evaluator": "第三方评估机构",
                "evaluated_on": "2024-06-01",
            },
        ),
        (
            "/commands/record-follow-up-evaluation",
            {
                "uscc": uscc,
                "evaluation_id": new(),
                "findings": "运营良好",
                "conclusion": "good",
                "evaluated_on": "2024-12-01",
            },
        ),
        (
            "/commands/list-agency",
            {
                "uscc": uscc,
                "listing_id": listing,
                "list": "serious",
                "ground": "dishonest_debtor",
                "detail": "被列为失信被执行人",
                "legal_basis": "《社会组织信用信息管理办法》第十九条",
                "listed_on": "2024-07-01",
            },
        ),
        (
            "/commands/delist-agency",
            {
                "uscc": uscc,
                "listing_id": listing,
                "reason": "decision_withdrawn",
                "detail": "列入决定已撤销",
                "removed_on": "2024-07-15",
            },
        ),
    ]


async def stored_events(apps: Apps) -> int:
    conn = await asyncpg.connect(apps.database_url)
    try:
        count: int = await conn.fetchval("SELECT count(*) FROM supervision.events")
        return count
    finally:
        await conn.close()


async def forget_agency(apps: Apps, uscc: str) -> None:
    """Remove the agency's local row, as a rebuild of supervision.agencies does for a while."""
    conn = await asyncpg.connect(apps.database_url)
    try:
        await conn.execute("DELETE FROM supervision.agencies WHERE uscc = $1", uscc)
    finally:
        await conn.close()


async def test_reads_are_scoped_by_the_agencys_unit_and_base(apps: Apps) -> None:
    world = await build_world(apps)
    callers = world.callers()
    j, e = world.jinshui, world.erqi
    # Credit files and reports: the city and auditors everywhere; an officer in their unit; a
    # base the agencies it incubated; the integrator never (its channel is the public lists).
    file_readers = {
        j: {CITY: 200, AUDITOR: 200, JINSHUI: 200, BASE_A: 200},
        e: {CITY: 200, AUDITOR: 200, ERQI: 200, BASE_B: 200},
    }
    matrix: list[tuple[str, dict[str, str] | None, str, int]] = []
    for uscc, readers in file_readers.items():
        for path in (f"/credit-files/{uscc}", f"/credit-files/{uscc}/report"):
            matrix += [(path, None, role, readers.get(role, 403)) for role in callers]
    # The credit lists are what the credit rules publish: every role reads them.
    for path in ("/credit-lists/abnormal", "/credit-lists/serious", "/credit-lists-coming"):
        matrix += [(path, None, role, 200) for role in callers]
    # Rectifications are casework: citywide roles, and officers for their own unit only.
    rectifications = {CITY: 200, AUDITOR: 200, JINSHUI: 200, ERQI: 200}
    matrix += [("/rectifications", None, role, rectifications.get(role, 403)) for role in callers]
    matrix += [
        ("/rectifications", {"reporting_unit": "erqi"}, JINSHUI, 403),
        ("/rectifications", {"reporting_unit": "erqi"}, ERQI, 200),
        ("/rectifications", {"reporting_unit": "jinshui"}, AUDITOR, 200),
    ]

    wrong: list[tuple[object, ...]] = []
    for path, params, role, expected in matrix:
        response = await apps.supervision.get(path, params=params, headers=callers[role])
        if response.status_code != expected:
            wrong.append((path, params, role, expected, response.status_code))
    assert not wrong, "\n".join(map(str, wrong))

    # An officer's list of rectifications holds only their unit's agencies.
    own = await apps.supervision.get("/rectifications", headers=callers[JINSHUI])
    assert {r["uscc"] for r in own.json()["due"] + own.json()["overdue"]} == {j}
    everyone = await apps.supervision.get("/rectifications", headers=callers[AUDITOR])
    assert {r["uscc"] for r in everyone.json()["due"] + everyone.json()["overdue"]} >= {j, e}


async def test_writes_outside_scope_are_refused_and_store_nothing(apps: Apps) -> None:
    world = await build_world(apps)
    callers = world.callers()
    wrong: list[tuple[object, ...]] = []
    # Each command is tried by every caller outside its scope first, while it could still
    # succeed, then sent by the agency's own officer.
    for route, body in commands(world.jinshui):
        outside = [ERQI, BASE_B, AUDITOR, INTEGRATOR]
        if route != "/commands/record-violation":
            outside.append(BASE_A)  # a base may only report a violation it found
        for role in outside:
            before = await stored_events(apps)
            response = await apps.supervision.post(route, json=body, headers=callers[role])
            stored = await stored_events(apps) - before
            if response.status_code != 403 or stored:
                wrong.append((route, role, 403, response.status_code, stored))
        accepted = await apps.supervision.post(route, json=body, headers=callers[JINSHUI])
        if accepted.status_code != 201:
            wrong.append((route, JINSHUI, 201, accepted.status_code, accepted.text))
    assert not wrong, "\n".join(map(str, wrong))

    # Inside scope: the base reports a violation it found while the agency was resident there;
    # the city acts in any unit.
    found = commands(world.jinshui)[0][1]
    by_base = await apps.supervision.post(
        "/commands/record-violation", json=found, headers=callers[BASE_A]
    )
    assert by_base.status_code == 201, by_base.text
    route, body = commands(world.erqi)[0]
    assert (await apps.supervision.post(route, json=body, headers=callers[CITY])).status_code == 201


async def test_an_agency_missing_from_the_local_table_is_never_in_scope(apps: Apps) -> None:
    world = await build_world(apps)
    callers = world.callers()
    uscc = world.erqi
    opened, unordered = commands(uscc), commands(uscc)[0]
    # Its file has an open rectification and an open listing that could be confirmed or ended,
    # and a violation with no rectification ordered yet.
    for route, body in (opened[0], opened[1], opened[10], unordered):
        response = await apps.supervision.post(route, json=body, headers=callers[CITY])
        assert response.status_code == 201, response.text
    await forget_agency(apps, uscc)
    in_file = {
        "violation": unordered[1]["violation_id"],
        "rectification": opened[1][1]["rectification_id"],
        "listing": opened[10][1]["listing_id"],
    }

    wrong: list[tuple[object, ...]] = []
    # A new order, the confirmation and the delisting would each be accepted if in scope.
    for route, body in commands(uscc, **in_file):
        for role in (ERQI, JINSHUI, BASE_B):
            before = await stored_events(apps)
            response = await apps.supervision.post(route, json=body, headers=callers[role])
            stored = await stored_events(apps) - before
            if response.status_code not in REFUSED or stored:
                wrong.append((route, role, response.status_code, stored))
    # Its unit cannot be checked: unit- and base-scoped readers get "not found"; the city and
    # auditors still read the file from the store; the integrator never.
    expected = {CITY: 200, AUDITOR: 200, INTEGRATOR: 403, ERQI: 404, JINSHUI: 404}
    expected |= {BASE_A: 404, BASE_B: 404}
    for path in (f"/credit-files/{uscc}", f"/credit-files/{uscc}/report"):
        for role, code in expected.items():
            response = await apps.supervision.get(path, headers=callers[role])
            if response.status_code != code:
                wrong.append((path, role, code, response.status_code))
    assert not wrong, "\n".join(map(str, wrong))
    missing = await apps.supervision.get(f"/credit-files/{uscc}", headers=callers[ERQI])
    assert missing.json()["code"] == "agency_not_found"


async def test_an_agency_moved_to_another_unit_is_in_the_new_units_scope(apps: Apps) -> None:
    """A change of registration moving the agency to another reporting unit moves its credit
    file with it: the new unit's officer reads it, the old one's no longer does."""
    uscc = await register(apps, "jinshui", "410105")
    route, violation = commands(uscc)[0]
    recorded = await apps.supervision.post(route, json=violation, headers=auth())
    assert recorded.status_code == 201, recorded.text
    move = {"uscc": uscc, "amended_on": "2020-01-01", "reporting_unit": "erqi"}
    moved = await apps.registry.post("/commands/amend-agency-profile", json=move, headers=auth())
    assert moved.status_code == 201, moved.text
    path = f"/credit-files/{uscc}"

    async def readable_in_erqi() -> bool:
        answer = await apps.supervision.get(path, headers=auth(Role.UNIT_OFFICER, unit="erqi"))
        return answer.status_code == 200

    await wait_for(readable_in_erqi)
    old = await apps.supervision.get(path, headers=auth(Role.UNIT_OFFICER, unit="jinshui"))
    assert old.status_code in REFUSED
