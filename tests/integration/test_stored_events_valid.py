"""Whatever a command can get stored is a valid public event (issue 10, item 5).

`change-agency-staff` with `occurred_at` 0001-01-01T00:00:00Z was accepted; asyncpg stored the
time as -infinity and read it back without an offset, so the published `time` failed the
envelope schema. Here the writing services are driven through HTTP, hostile occurrence times
included (each may be accepted or refused), and every stored event is converted as the relay
converts it and validated against the exported JSON Schemas, `date-time` formats checked.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import AsyncIterator
from functools import cache
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from servicekit.cloudevents import Envelopes
from servicekit.eventstore import START, EventStore
from servicekit.eventstore.store import create_pool
from servicekit.relay_records import read_pieces
from services.supervision.app import create_app as create_supervision
from tests.integration.apphost import running
from tests.integration.incubation.world import ALL_MET, World, world
from tests.support import auth, wait_for

pytestmark = pytest.mark.infra
SCHEMAS = Path(__file__).resolve().parents[2] / "contracts" / "schemas"
WRITERS = ("registry", "incubation", "supervision")
# Each is sent once; whether it is accepted or refused, what is stored must be valid.
HOSTILE_TIMES = [
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00",
    "1000-06-15T12:00:00+08:00",
    "1989-12-31T23:59:59+08:00",
    "1990-01-01T00:00:00+08:00",
    "2020-07-05T09:00:00+08:00",
    "9999-12-31T23:59:59Z",
]
# RFC 3339 §5.6 date-time: a full date, a full time and an offset (Z or ±hh:mm).
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def rfc3339_date_time(value: object) -> bool:
    """jsonschema checks date-time only with an optional package; this is the same rule."""
    if not isinstance(value, str):
        return True
    if not RFC3339.fullmatch(value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time with an offset")
    dt.datetime.fromisoformat(value.replace("z", "Z"))
    return True


@cache
def validator(relative: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / relative).read_text("utf-8"))
    return Draft202012Validator(schema, format_checker=FORMATS)


def problems_of(message: dict[str, Any]) -> list[str]:
    """Every way a published message breaks envelope.json or its event schema."""
    found = [e.message for e in validator("envelope.json").iter_errors(message)]
    data_schema = SCHEMAS / "events" / f"{message['type']}.json"
    if not data_schema.exists():
        return [*found, f"no exported schema for {message['type']}"]
    data = validator(f"events/{message['type']}.json")
    return found + [e.message for e in data.iter_errors(message["data"])]


@pytest.fixture
async def apps(
    service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[World, httpx.AsyncClient]]:
    monkeypatch.setenv("SUPERVISION_CHECK_INTERVAL_SECONDS", "0")  # run by the test instead
    async with world() as w, running(create_supervision) as supervision:
        yield w, supervision


async def drive_registry(w: World, uscc: str) -> None:
    for stated in HOSTILE_TIMES:
        change = {"uscc": uscc, "full_time_staff": 7, "qualified_staff": 3, "occurred_at": stated}
        response = await w.registry.post(
            "/commands/change-agency-staff", json=change, headers=auth()
        )
        assert response.status_code in (201, 422), (stated, response.text)
    for name, body in [
        ("suspend-agency", {"uscc": uscc, "reason": "限期整改", "until": "2030-01-01"}),
        ("reinstate-agency", {"uscc": uscc, "reason": "整改完成"}),
    ]:
        response = await w.registry.post(f"/commands/{name}", json=body, headers=auth())
        assert response.status_code == 201, (name, response.text)
    await w.known(uscc, "active")  # incubation has applied every version so far


async def drive_incubation(w: World, graduate: str, revoked: str) -> None:
    await w.base()
    graduate_id = await w.admit(graduate, "301")
    revoked_id = await w.admit(revoked, "302")
    await w.ok(
        "record-support",
        {
            "incubation_id": graduate_id,
            "support_type": "funding",
            "funding_type": "venture_philanthropy",
            "amount_yuan": "50000.00",
            "description": "公益创投项目资助",
            "given_on": "2023-09-15",
        },
    )
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
        json={"uscc": revoked, "reason": "严重违法"},
        headers=auth(),
    )
    assert revoke.status_code == 201, revoke.text

    async def terminated() -> bool:  # the process manager's own event
        return await w.status(revoked_id) == "terminated"

    await wait_for(terminated)


async def drive_supervision(supervision: httpx.AsyncClient, database_url: str, uscc: str) -> None:
    async def known() -> bool:
        conn = await asyncpg.connect(database_url)
        try:
            found = "SELECT 1 FROM supervision.agencies WHERE uscc = $1"
            return bool(await conn.fetchval(found, uscc))
        finally:
            await conn.close()

    await wait_for(known)
    violation_id = str(uuid.uuid4())
    steps = [
        (
            "record-violation",
            {
                "uscc": uscc,
                "violation_id": violation_id,
                "category": "office_subletting",
                "severity": "serious",
                "facts": "将办公室转借他人",
                "evidence_ref": "JSMZ-JC-2024-0408-01",
                "found_on": "2024-04-08",
                "occurred_at": "2024-04-08T10:00:00+08:00",
            },
        ),
        (
            "order-rectification",
            {
                "uscc": uscc,
                "rectification_id": str(uuid.uuid4()),
                "violation_id": violation_id,
                "requirements": "收回办公室",
                "deadline": "2024-04-30",
                "ordered_on": "2024-04-09",
            },
        ),
        ("run-scheduled-checks", {"as_of": "2024-05-01"}),  # overdue and listed, by the clock
    ]
    for name, body in steps:
        response = await supervision.post(f"/commands/{name}", json=body, headers=auth())
        assert response.status_code in (200, 201), (name, response.text)


async def stored_messages(database_url: str) -> list[dict[str, Any]]:
    """Every stored event, as the relay would publish it."""
    pool = await create_pool(database_url)
    try:
        messages = []
        for producer in WRITERS:
            store = EventStore(pool, producer)
            store_id = await store.installation_id()
            # Every command has been answered, so its events are committed: read them all, not
            # only those below the oldest running transaction of the (shared) server.
            envelopes = Envelopes(producer, store_id)
            for row in await read_pieces(store, START, 10_000, appends_held=True):
                _, value, _ = envelopes.record(row)
                messages.append(json.loads(value))
        return messages
    finally:
        await pool.close()


async def test_every_stored_event_validates_against_the_exported_schemas(
    apps: tuple[World, httpx.AsyncClient], database_url: str
) -> None:
    w, supervision = apps
    graduate, revoked, sanctioned = await w.register(), await w.register(), await w.register()
    # Suspended (hence on the serious list, issue 11) and reinstated: not one to admit later.
    await drive_registry(w, sanctioned)
    await drive_incubation(w, graduate, revoked)
    await drive_supervision(supervision, database_url, graduate)

    messages = await stored_messages(database_url)
    types = {m["type"] for m in messages}
    assert {
        "AgencyRegistered.v2",
        "AgencyStaffChanged.v1",
        "AgencySuspended.v1",
        "BaseEstablished.v1",
        "AgencyGraduated.v1",
        "IncubationTerminated.v1",
        "ViolationRecorded.v1",
        "RectificationOverdue.v1",
    } <= types, types
    invalid = {
        f"{m['type']} {m['streamid']}@{m['streamversion']} time={m['time']}": found
        for m in messages
        if (found := problems_of(m))
    }
    assert invalid == {}
