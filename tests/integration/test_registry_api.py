"""The registry's HTTP API against the real database and broker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from servicekit.auth import Role
from services.registry.app import create_app
from tests.integration.apphost import running
from tests.support import auth, registration, stored_events, wait_for

pytestmark = pytest.mark.infra
REGISTER = "/commands/register-agency"


@pytest.fixture
async def client(service_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app) as client:
        yield client


async def test_register_then_read(client: httpx.AsyncClient) -> None:
    body = registration(1)
    response = await client.post(REGISTER, json=body, headers=auth())
    assert response.status_code == 201, response.text
    accepted = response.json()
    assert accepted["stream_version"] == 1
    assert accepted["events"][0]["type"] == "AgencyRegistered.v2"
    assert response.headers["ETag"] == "1"

    one = await client.get(f"/agencies/{body['uscc']}", headers=auth(Role.AUDITOR))
    assert one.status_code == 200
    assert one.json()["priority"] is True and one.json()["county_code"] == "410105"

    listed = await client.get("/agencies", params={"reporting_unit": "jinshui"}, headers=auth())
    assert listed.json()["total"] == 1

    history = await client.get(f"/agencies/{body['uscc']}/history", headers=auth())
    event = history.json()["events"][0]
    trail = await client.get(f"/streams/{body['uscc']}/events", headers=auth(Role.AUDITOR))
    assert trail.json()["events"][0]["event_id"] == event["event_id"]
    denied = await client.get(f"/streams/{body['uscc']}/events", headers=auth(Role.INTEGRATOR))
    assert denied.status_code == 403
    assert event["actor"] == "tester" and event["actor_role"] == "city_admin"
    assert event["correlation_id"] and event["causation_id"]


async def test_backdated_registration_keeps_both_times(client: httpx.AsyncClient) -> None:
    body = {**registration(2), "occurred_at": "2019-05-01T09:00:00+08:00"}
    response = await client.post(REGISTER, json=body, headers=auth())
    assert response.status_code == 201
    history = (await client.get(f"/agencies/{body['uscc']}/history", headers=auth())).json()
    event = history["events"][0]
    assert event["occurred_at"].startswith("2019-05-01T01:00:00")
    assert event["recorded_at"] > "2026"


async def test_future_occurrence_is_refused(client: httpx.AsyncClient, database_url: str) -> None:
    body = {**registration(3), "occurred_at": "2999-01-01T00:00:00+08:00"}
    response = await client.post(REGISTER, json=body, headers=auth())
    assert response.status_code == 422 and response.json()["code"] == "future_time"
    assert await stored_events(database_url) == 0


async def test_duplicate_credit_code_is_refused(
    client: httpx.AsyncClient, database_url: str
) -> None:
    body = registration(4)
    assert (await client.post(REGISTER, json=body, headers=auth())).status_code == 201
    again = await client.post(REGISTER, json={**body, "name": "另一个社工服务中心"}, headers=auth())
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate_uscc"
    assert again.headers["content-type"].startswith("application/problem+json")
    assert await stored_events(database_url) == 1


async def test_retried_command_is_answered_from_the_first(
    client: httpx.AsyncClient, database_url: str
) -> None:
    body = registration(5)
    headers = {**auth(), "Idempotency-Key": "register-5"}
    first = await client.post(REGISTER, json=body, headers=headers)
    second = await client.post(REGISTER, json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["duplicate"] is True
    assert second.json()["events"] == first.json()["events"]
    assert await stored_events(database_url) == 1
    reused = await client.post(REGISTER, json={**body, "name": "改名社工服务中心"}, headers=headers)
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"


async def test_stale_version_is_a_conflict(client: httpx.AsyncClient, database_url: str) -> None:
    body = registration(6)
    await client.post(REGISTER, json=body, headers=auth())
    change = {"uscc": body["uscc"], "full_time_staff": 9, "qualified_staff": 3}
    ok = await client.post(
        "/commands/change-agency-staff", json=change, headers={**auth(), "If-Match": "1"}
    )
    assert ok.status_code == 201 and ok.json()["stream_version"] == 2
    stale = await client.post(
        "/commands/change-agency-staff",
        json={**change, "full_time_staff": 12, "qualified_staff": 4},
        headers={**auth(), "If-Match": "1"},
    )
    assert stale.status_code == 409
    assert stale.json()["code"] == "concurrency_conflict"
    assert stale.json()["actual_version"] == 2
    assert await stored_events(database_url) == 2


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"{not json", 400, "malformed_json"),
        (b'{"uscc": 5}', 422, "invalid_request"),
        (b'{"uscc": "x", "full_time_staff": "many"}', 422, "invalid_request"),
    ],
)
async def test_bad_input_is_a_clear_4xx_and_stores_nothing(
    client: httpx.AsyncClient, database_url: str, content: bytes, status: int, code: str
) -> None:
    response = await client.post(
        REGISTER, content=content, headers={**auth(), "content-type": "application/json"}
    )
    assert response.status_code == status
    problem = response.json()
    assert problem["code"] == code and problem["title"] and problem["detail"]
    assert await stored_events(database_url) == 0


async def test_rule_violations_are_listed(client: httpx.AsyncClient, database_url: str) -> None:
    body = {
        **registration(7),
        "name": "中国社工中心",
        "qualified_staff": 1,
        "target_groups": ["martians"],
    }
    response = await client.post(REGISTER, json=body, headers=auth())
    assert response.status_code == 422
    codes = {e["code"] for e in response.json()["errors"]}
    assert len(codes) >= 3
    assert await stored_events(database_url) == 0


async def test_unknown_agency_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/commands/reinstate-agency",
        json={"uscc": registration(99)["uscc"], "reason": "x"},
        headers=auth(),
    )
    assert response.status_code == 404
    assert (await client.get("/agencies/NOPE", headers=auth())).status_code == 404


async def test_lifecycle_suspend_reinstate_revoke(client: httpx.AsyncClient) -> None:
    uscc = registration(8)["uscc"]
    await client.post(REGISTER, json=registration(8), headers=auth())
    steps = [
        ("/commands/suspend-agency", {"uscc": uscc, "reason": "整改", "until": "2020-01-01"}, 201),
        ("/commands/suspend-agency", {"uscc": uscc, "reason": "again"}, 409),
        ("/commands/reinstate-agency", {"uscc": uscc, "reason": "整改完成"}, 201),
        ("/commands/revoke-agency-registration", {"uscc": uscc, "reason": "严重违法"}, 201),
        ("/commands/reinstate-agency", {"uscc": uscc, "reason": "no"}, 409),
    ]
    for path, body, status in steps:
        response = await client.post(path, json=body, headers=auth())
        assert response.status_code == status, (path, response.text)
    agency = (await client.get(f"/agencies/{uscc}", headers=auth())).json()
    assert agency["status"] == "revoked" and agency["version"] == 4


async def test_health_endpoints(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/live")).status_code == 200

    async def ready() -> httpx.Response | None:  # once its consumer has joined its group
        answer = await client.get("/health/ready")
        return answer if answer.status_code == 200 else None

    answer = await wait_for(ready, timeout=30)
    assert answer is not None  # wait_for returns a truthy value
    assert answer.json()["checks"] == {"database": True, "broker": True, "consuming": True}
    spec = (await client.get("/openapi.json")).json()
    assert "/commands/register-agency" in spec["paths"]


async def test_read_model_rebuilt_from_the_log_is_identical(
    client: httpx.AsyncClient, database_url: str
) -> None:
    from servicekit.eventstore import EventStore
    from servicekit.eventstore.store import create_pool
    from servicekit.rebuild import rebuild_read_model
    from services.registry.rebuild import READ_MODEL

    for serial in (20, 21, 22):
        await client.post(REGISTER, json=registration(serial), headers=auth())
    change = {"uscc": registration(21)["uscc"], "full_time_staff": 9, "qualified_staff": 3}
    await client.post("/commands/change-agency-staff", json=change, headers=auth())
    await client.post(
        "/commands/revoke-agency-registration",
        json={"uscc": registration(22)["uscc"], "reason": "撤销"},
        headers=auth(),
    )
    pool = await create_pool(database_url)
    try:
        before = [
            dict(r) for r in await pool.fetch("SELECT * FROM registry.agencies ORDER BY uscc")
        ]
        await pool.execute("UPDATE registry.agencies SET name = 'corrupted'")
        assert await rebuild_read_model(EventStore(pool, "registry"), READ_MODEL) == {"agencies": 3}
        after = [dict(r) for r in await pool.fetch("SELECT * FROM registry.agencies ORDER BY uscc")]
    finally:
        await pool.close()
    assert after == before
