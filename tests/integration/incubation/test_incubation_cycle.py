"""Issue #3 "done when", end to end on the real broker and database, with both apps running.

A base is established, a call published, three registered agencies apply; two are admitted and
move in, one is refused with its reason; support and training are recorded; one graduates and
one is terminated because the registry revoked it. Every step is read back off Kafka and
validated against the exported schemas.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from socialwork_contracts.topics import INCUBATION

from servicekit.auth import Role
from tests.conftest import Infra
from tests.integration.incubation.world import ALL_MET, World, world
from tests.integration.kafka_reader import read_until, validate_message
from tests.support import auth, wait_for

pytestmark = pytest.mark.infra


@pytest.fixture
async def w(service_env: dict[str, str]) -> AsyncIterator[World]:
    async with world() as both:
        yield both


async def test_the_done_when_scenario(w: World, infra: Infra) -> None:
    await w.base()
    tongxin, ankang, xinyuan = [await w.register() for _ in range(3)]

    graduate_id = await w.admit(tongxin, "301")
    revoked_id = await w.admit(ankang, "302")
    refused_id = await w.apply(xinyuan)
    refusal = await w.command(
        "reject-application",
        {"incubation_id": refused_id, "reasons": ["名额已满"], "rejected_on": "2023-05-20"},
    )
    assert refusal.status_code == 201

    offices = (await w.incubation.get(f"/bases/{w.base_id}/offices", headers=auth())).json()
    assert [o["occupied_by"] and o["occupied_by"]["uscc"] for o in offices] == [
        tongxin,
        ankang,
        None,
    ]

    operator = {"role": Role.BASE_OPERATOR, "base": w.base_id}
    support = await w.command(
        "record-support",
        {
            "incubation_id": graduate_id,
            "support_type": "funding",
            "funding_type": "venture_philanthropy",
            "amount_yuan": "50000.00",
            "description": "公益创投项目资助",
            "given_on": "2023-09-15",
        },
        **operator,
    )
    assert support.status_code == 201, support.text
    training = await w.command(
        "record-training",
        {
            "base_id": w.base_id,
            "session_id": "00000000-0000-0000-0000-000000000001",
            "title": "项目设计与评估",
            "held_on": "2023-10-20",
            "hours": "3.5",
            "attendees": 46,
            "agency_usccs": [tongxin, ankang],
        },
        **operator,
    )
    assert training.status_code == 201, training.text
    given = (await w.incubation.get("/support", params={"uscc": tongxin}, headers=auth())).json()
    assert given[0]["amount_yuan"] == "50000.00"

    await w.ok(
        "graduate-agency",
        {
            "incubation_id": graduate_id,
            "assessment": ALL_MET,
            "assessment_summary": "治理健全，出壳评估通过",
            "graduated_on": "2024-06-30",
        },
    )
    revoke = await w.registry.post(
        "/commands/revoke-agency-registration",
        json={"uscc": ankang, "reason": "转租孵化场地且拒不整改"},
        headers=auth(),
    )
    assert revoke.status_code == 201

    async def terminated() -> bool:
        return await w.status(revoked_id) == "terminated"

    await wait_for(terminated)
    ended = (await w.incubation.get(f"/incubations/{revoked_id}", headers=auth())).json()
    assert ended["termination_reason"] == "deregistration_or_revocation"
    free = (await w.incubation.get(f"/bases/{w.base_id}/offices", headers=auth())).json()
    assert all(o["occupied_by"] is None for o in free)

    # Every step is on Kafka, valid against the exported schemas.
    ours = {w.base_id, graduate_id, revoked_id, refused_id}
    expected = {
        "BaseEstablished.v1": 1,
        "AdmissionStandardAdopted.v1": 1,
        "CallPublished.v1": 1,
        "ApplicationSubmitted.v1": 3,
        "ApplicationReviewed.v1": 8,
        "ApplicationApproved.v1": 2,
        "ApplicationRejected.v1": 1,
        "AgreementSigned.v1": 2,
        "IncubationStarted.v1": 2,
        "SupportRecorded.v1": 1,
        "TrainingDelivered.v1": 1,
        "AgencyGraduated.v1": 1,
        "IncubationTerminated.v1": 1,
    }
    records = await read_until(
        infra.kafka,
        INCUBATION.name,
        lambda r: r.key is not None and r.key.decode() in ours,
        count=sum(expected.values()),
    )
    messages: list[dict[str, Any]] = [validate_message(r.value) for r in records]
    seen: dict[str, int] = {}
    for m in messages:
        seen[m["type"]] = seen.get(m["type"], 0) + 1
        assert m["subject"] == m["streamid"]
    assert seen == expected
    termination = next(m for m in messages if m["type"] == "IncubationTerminated.v1")
    assert termination["actor"] == "system:incubation.registry-agencies"
    assert termination["data"]["reason"] == "deregistration_or_revocation"
    assert termination["actorrole"] == "system"
    started = [m for m in messages if m["type"] == "IncubationStarted.v1"]
    assert {m["data"]["office_id"] for m in started} == {"301", "302"}
