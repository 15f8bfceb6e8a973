"""Who reads what (docs/incubation.md "Authorisation"): unit officers their reporting unit, base
operators their base, city administrators and auditors everything. Lists are filtered to the
caller's scope; one named base or incubation outside it is a 403.

Three bases: A and B in jinshui, C in erqi. A and C each have a resident with support recorded;
B has one application.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from servicekit.auth import Role
from tests.integration.incubation.world import World, world
from tests.support import auth

pytestmark = pytest.mark.infra

SUPPORT = {
    "support_type": "funding",
    "funding_type": "venture_philanthropy",
    "amount_yuan": "1000.00",
    "description": "公益创投项目资助",
    "given_on": "2023-09-15",
}


@dataclass
class Three:
    a: World
    b: World
    c: World
    resident_a: str
    applicant_b: str
    resident_c: str


@pytest.fixture
async def three(service_env: dict[str, str]) -> AsyncIterator[Three]:
    async with world() as a:
        b, c = World(a.registry, a.incubation), World(a.registry, a.incubation)
        await a.base()
        await b.base()
        await c.base(unit="erqi")
        resident_a = await a.admit(await a.register(), "301")
        applicant_b = await b.apply(await b.register())
        resident_c = await c.admit(await c.register(unit="erqi", code="410103"), "301")
        await a.ok("record-support", {"incubation_id": resident_a, **SUPPORT})
        await c.ok("record-support", {"incubation_id": resident_c, **SUPPORT})
        yield Three(a, b, c, resident_a, applicant_b, resident_c)


async def get(w: World, path: str, headers: dict[str, str], **params: Any) -> Any:
    response = await w.incubation.get(path, headers=headers, params=params)
    assert response.status_code == 200, (path, response.text)
    return response.json()


async def status(w: World, path: str, headers: dict[str, str]) -> int:
    return (await w.incubation.get(path, headers=headers)).status_code


def base_paths(base_id: str) -> list[str]:
    return [f"/bases/{base_id}{tail}" for tail in ("", "/offices", "/calls", "/residents")] + [
        f"/bases/{base_id}/trainings"
    ]


async def test_a_unit_officer_reads_only_their_reporting_unit(three: Three) -> None:
    t, officer = three, auth(Role.UNIT_OFFICER, unit="jinshui")
    bases = await get(t.a, "/bases", officer)
    assert {b["base_id"] for b in bases} == {t.a.base_id, t.b.base_id}
    assert await get(t.a, "/bases", officer, reporting_unit="erqi") == []
    for path in base_paths(t.a.base_id) + base_paths(t.b.base_id):
        assert await status(t.a, path, officer) == 200, path
    for path in base_paths(t.c.base_id):
        assert await status(t.a, path, officer) == 403, path

    applications = await get(t.a, "/applications", officer)
    assert {i["incubation_id"] for i in applications} == {t.resident_a, t.applicant_b}
    assert await get(t.a, "/applications", officer, base_id=t.c.base_id) == []
    agreements = await get(t.a, "/agreements", officer)
    assert [i["incubation_id"] for i in agreements] == [t.resident_a]
    support = await get(t.a, "/support", officer)
    assert [s["incubation_id"] for s in support] == [t.resident_a]
    assert await get(t.a, "/support", officer, incubation_id=t.resident_c) == []
    assert await status(t.a, f"/incubations/{t.resident_a}", officer) == 200
    assert await status(t.a, f"/incubations/{t.applicant_b}", officer) == 200
    assert await status(t.a, f"/incubations/{t.resident_c}", officer) == 403

    other = auth(Role.UNIT_OFFICER, unit="erqi")
    assert [b["base_id"] for b in await get(t.a, "/bases", other)] == [t.c.base_id]
    assert await status(t.a, f"/incubations/{t.resident_a}", other) == 403


async def test_a_base_operator_reads_only_their_base(three: Three) -> None:
    t, operator = three, auth(Role.BASE_OPERATOR, base=three.a.base_id)
    assert [b["base_id"] for b in await get(t.a, "/bases", operator)] == [t.a.base_id]
    assert await get(t.a, "/bases", operator, reporting_unit="jinshui") != []
    for path in base_paths(t.a.base_id):
        assert await status(t.a, path, operator) == 200, path
    for path in base_paths(t.b.base_id) + base_paths(t.c.base_id):  # same unit, other base
        assert await status(t.a, path, operator) == 403, path

    assert [i["incubation_id"] for i in await get(t.a, "/applications", operator)] == [t.resident_a]
    assert await get(t.a, "/applications", operator, base_id=t.b.base_id) == []
    assert [i["incubation_id"] for i in await get(t.a, "/agreements", operator)] == [t.resident_a]
    assert [s["incubation_id"] for s in await get(t.a, "/support", operator)] == [t.resident_a]
    assert await status(t.a, f"/incubations/{t.resident_a}", operator) == 200
    assert await status(t.a, f"/incubations/{t.applicant_b}", operator) == 403
    assert await status(t.a, f"/incubations/{t.resident_c}", operator) == 403


@pytest.mark.parametrize("role", [Role.CITY_ADMIN, Role.AUDITOR])
async def test_city_admins_and_auditors_read_everything(three: Three, role: Role) -> None:
    t, reader = three, auth(role)
    bases = {b["base_id"] for b in await get(t.a, "/bases", reader)}
    assert bases == {t.a.base_id, t.b.base_id, t.c.base_id}
    applications = {i["incubation_id"] for i in await get(t.a, "/applications", reader)}
    assert applications == {t.resident_a, t.applicant_b, t.resident_c}
    assert len(await get(t.a, "/agreements", reader)) == 2
    assert len(await get(t.a, "/support", reader)) == 2
    for path in [*base_paths(t.c.base_id), f"/incubations/{t.resident_c}"]:
        assert await status(t.a, path, reader) == 200, path
