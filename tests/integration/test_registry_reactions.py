"""The registry follows supervision's penalties: revocation and suspension, exactly once."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from socialwork_contracts.envelope import CloudEvent, kafka_headers, schema_urn
from socialwork_contracts.supervision import PenaltyImposed
from socialwork_contracts.topics import SUPERVISION

from servicekit.auth import Role
from services.registry.app import create_app
from tests.conftest import Infra
from tests.integration.apphost import running
from tests.integration.kafka_reader import read_until
from tests.support import auth, envelope, registration, wait_for

pytestmark = pytest.mark.infra


@pytest.fixture
async def client(service_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app) as client:
        yield client


def penalty(uscc: str, kind: str, **extra: object) -> CloudEvent:
    event = PenaltyImposed(
        penalty_id=str(uuid.uuid4()),
        uscc=uscc,
        kind=kind,  # type: ignore[arg-type]
        document_number="郑民罚〔2021〕7号",
        legal_basis="《民办非企业单位登记管理暂行条例》第二十五条",
        deciding_department="郑州市民政局",
        decided_on=dt.date(2021, 3, 1),
        **extra,  # type: ignore[arg-type]
    )
    return envelope(
        event.type_key(),
        event.model_dump(mode="json"),
        uscc,
        source="/socialwork/supervision",
        time=dt.datetime(2021, 3, 1, 2, tzinfo=dt.UTC),
        dataschema=schema_urn(event.type_key()),
        storeid=str(uuid.uuid4()),  # a hand-made record: version 1 of its own history
        correlationid="corr-penalty",
        causationid="cmd-penalty",
        actor="inspector",
    )


async def publish(infra: Infra, event: CloudEvent, times: int = 1) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka)
    await producer.start()
    try:
        headers = [(k, v.encode()) for k, v in kafka_headers(event).items()]
        for _ in range(times):
            await producer.send_and_wait(
                SUPERVISION.name,
                event.model_dump_json().encode(),
                key=event.subject.encode(),
                headers=headers,
            )
    finally:
        await producer.stop()


async def test_revocation_penalty_revokes_the_registration_once(
    client: httpx.AsyncClient, infra: Infra
) -> None:
    body = registration(900)
    uscc = body["uscc"]
    assert (
        await client.post("/commands/register-agency", json=body, headers=auth())
    ).status_code == 201
    cause = penalty(uscc, "revocation")
    await publish(infra, cause, times=2)  # a republished event must not revoke twice

    async def revoked() -> dict[str, Any] | None:
        history = (await client.get(f"/agencies/{uscc}/history", headers=auth())).json()
        return history if history["state"]["status"] == "revoked" else None

    history = await wait_for(revoked)
    assert history is not None
    events = history["events"]
    assert [e["type"] for e in events] == ["AgencyRegistered.v2", "AgencyRegistrationRevoked.v1"]
    revocation = events[1]
    assert revocation["actor"] == "system:registry.supervision-penalties"
    assert revocation["actor_role"] == "system"
    assert revocation["causation_id"] == cause.id
    assert revocation["correlation_id"] == "corr-penalty"
    assert revocation["occurred_at"].startswith("2021-03-01")
    assert revocation["data"]["decision_document"] == "郑民罚〔2021〕7号"


async def test_suspension_penalty_suspends_and_unknown_agency_is_ignored(
    client: httpx.AsyncClient, infra: Infra
) -> None:
    body = registration(901)
    uscc = body["uscc"]
    await client.post("/commands/register-agency", json=body, headers=auth())
    await publish(infra, penalty(registration(999_999)["uscc"], "revocation"))  # not ours
    await publish(infra, penalty(uscc, "suspension", suspended_until=dt.date(2021, 6, 30)))

    async def suspended() -> bool:
        agency = (await client.get(f"/agencies/{uscc}", headers=auth())).json()
        return bool(agency["status"] == "suspended" and agency["suspended_until"] == "2021-06-30")

    await wait_for(suspended)


async def test_operator_lists_and_redrives_dead_letters(
    client: httpx.AsyncClient, infra: Infra
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka)
    await producer.start()
    try:
        await producer.send_and_wait(SUPERVISION.name, b"{broken json", key=b"who-knows")
    finally:
        await producer.stop()

    async def listed() -> list[dict[str, Any]] | None:
        response = await client.get("/admin/dead-letters", headers=auth())
        letters: list[dict[str, Any]] = response.json()
        return [x for x in letters if x["key"] == "who-knows"] or None

    [letter] = await wait_for(listed) or []
    assert "not a valid CloudEvent" in letter["reason"]
    assert (await client.get("/admin/dead-letters", headers=auth(Role.AUDITOR))).status_code == 403
    redriven = await client.post(f"/admin/dead-letters/{letter['id']}/redrive", headers=auth())
    assert redriven.status_code == 200
    # Still broken: the failure is recorded on the letter, which stays listed; no new letter,
    # and nothing is written to the shared topic (the re-drive went to the consumer only).
    assert redriven.json()["outcome"] == "failed"
    [again] = await wait_for(listed) or []
    assert again["id"] == letter["id"] and again["redrive_outcome"].startswith("failed")
    on_topic = await read_until(
        infra.kafka, SUPERVISION.name, lambda r: r.key == b"who-knows", count=2, timeout=5
    )
    assert len(on_topic) == 1
    rebuild = await client.post(
        "/admin/consumers/registry.supervision-penalties/rebuild", headers=auth()
    )
    assert rebuild.status_code == 202
    missing = await client.post("/admin/consumers/nope/rebuild", headers=auth())
    assert missing.status_code == 404


async def test_a_refused_reaction_is_not_decided_again_on_a_rebuild(
    client: httpx.AsyncClient, infra: Infra, database_url: str
) -> None:
    """The penalty's suspension is refused (suspended by hand already); after a reinstatement a
    rebuild replayed the penalty and suspended the agency again, dated before the
    reinstatement. The refusal is now a recorded decision, so the replay answers from it."""
    body = registration(902)
    uscc = body["uscc"]
    await client.post("/commands/register-agency", json=body, headers=auth())
    by_hand = {"uscc": uscc, "reason": "现场检查发现问题", "until": "2021-12-31"}
    assert (
        await client.post("/commands/suspend-agency", json=by_hand, headers=auth())
    ).status_code == 201
    cause = penalty(uscc, "suspension", suspended_until=dt.date(2021, 6, 30))
    await publish(infra, cause)

    async def declined() -> bool:
        conn = await asyncpg.connect(database_url)
        try:
            refusal = await conn.fetchval(
                "SELECT refusal FROM registry.commands WHERE command_id LIKE $1", f"%{cause.id}"
            )
        finally:
            await conn.close()
        return refusal is not None

    await wait_for(declined)
    again = {"uscc": uscc, "reason": "整改完成"}
    assert (
        await client.post("/commands/reinstate-agency", json=again, headers=auth())
    ).status_code == 201
    rebuild = await client.post(
        "/admin/consumers/registry.supervision-penalties/rebuild", headers=auth()
    )
    assert rebuild.status_code == 202

    async def replayed() -> bool:
        ready = await client.get("/health/ready")
        return ready.status_code == 200

    await wait_for(replayed, timeout=60)
    history = (await client.get(f"/agencies/{uscc}/history", headers=auth())).json()
    types = [e["type"].split(".")[0] for e in history["events"]]
    assert types == ["AgencyRegistered", "AgencySuspended", "AgencyReinstated"], types
