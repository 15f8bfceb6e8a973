"""Helpers shared by the integration tests (factories, waiting for conditions)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import importlib
import json
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol, TypeVar, cast

import asyncpg
from asyncpg.connection import LoggedQuery
from devstack.kafka import KafkaProcess, start_kafka
from devstack.postgres import PostgresProcess, start_postgres
from fastapi import FastAPI
from pydantic import BaseModel
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.envelope import CloudEvent
from socialwork_contracts.registry import AgencyStaffChanged

from servicekit.auth import Principal, Role, TokenSettings, issue_token
from servicekit.command_api import run_request
from servicekit.command_table import CommandTable
from servicekit.commands import CommandContext
from servicekit.db import Connection
from servicekit.eventstore import EventMetadata, EventStore, NewEvent
from servicekit.group_commit import GroupCommit
from servicekit.runtime import Runtime
from servicekit.settings import ServiceSettings
from tests.conftest import TEST_METRICS_TOKEN, TEST_SECRET

T = TypeVar("T")
E = TypeVar("E", bound=DomainEvent)
EXAMPLES = Path(__file__).resolve().parents[1] / "contracts" / "examples"

TOKENS = TokenSettings(TEST_SECRET, "socialwork-dev", "socialwork")
ADMIN = Principal("admin-1", Role.CITY_ADMIN)
# What a Prometheus scraper sends for /metrics (METRICS_TOKEN in service_env).
SCRAPER = {"Authorization": f"Bearer {TEST_METRICS_TOKEN}"}

AppFactory = Callable[[ServiceSettings], FastAPI]


def app_factory(service: str) -> AppFactory:
    """The composition root of a service of the manifest: `services.<service>.app.create_app`."""
    factory: AppFactory = importlib.import_module(f"services.{service}.app").create_app
    return factory


def token(
    role: Role, *, sub: str = "tester", unit: str | None = None, base: str | None = None
) -> str:
    return issue_token(
        TOKENS, subject=sub, role=role, unit=unit, base=base, now=dt.datetime.now(dt.UTC)
    )


def auth(role: Role = Role.CITY_ADMIN, **scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, **scope)}"}


def metadata(actor: str = "tester") -> EventMetadata:
    return EventMetadata(
        actor=actor,
        actor_role="city_admin",
        occurred_at=dt.datetime.now(dt.UTC),
        correlation_id="corr-test",
        causation_id="cause-test",
    )


def staff_event(uscc: str, n: int = 3) -> NewEvent:
    return NewEvent(AgencyStaffChanged(uscc=uscc, full_time_staff=n, qualified_staff=1), metadata())


def example_message(type_key: str) -> dict[str, Any]:
    """The contract's example message of `type_key` ("AgencyRegistered.v2"), as a dict."""
    message: dict[str, Any] = json.loads((EXAMPLES / f"{type_key}.json").read_bytes())
    return message


def example(cls: type[E], **fields: Any) -> E:
    """The event of `cls` with its contract example's fields (of its version), then `fields`."""
    found = example_message(f"{cls.event_type}.v{cls.event_version}")
    return cls.model_validate({**found["data"], **fields})


def envelope(
    type_: str, data: dict[str, Any], stream: str, version: int = 1, **fields: Any
) -> CloudEvent:
    """A CloudEvent as a producer's relay would send it, with test metadata (`fields` replace
    any of it: a source, an occurrence time, a store id)."""
    now = dt.datetime.now(dt.UTC)
    return CloudEvent(
        **{
            "id": str(uuid.uuid4()),
            "source": "/test",
            "type": type_,
            "subject": stream,
            "time": now,
            "dataschema": "urn:test",
            "data": data,
            "streamid": stream,
            "streamversion": version,
            "position": 1,
            "correlationid": "c",
            "causationid": "c",
            "actor": "t",
            "actorrole": "city_admin",
            "recordedtime": now,
            **fields,
        }
    )


async def wait_for(
    probe: Callable[[], Awaitable[T]], *, timeout: float = 30.0, interval: float = 0.05
) -> T:
    """Poll `probe` until it returns a truthy value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        await asyncio.sleep(interval)


def uscc_for(serial: int, *, unit_code: str = "410105", kind: str = "2") -> str:
    """A valid credit code for a 民办非企业单位 (kind 2) or association (kind 1) in Zhengzhou."""
    from services.registry.domain.uscc import with_check_character

    body = f"5{kind}{unit_code}"
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    digits, n = [], serial
    for _ in range(9):
        digits.append(charset[n % 31])
        n //= 31
    return with_check_character(body + "".join(reversed(digits)))


def registration(
    serial: int, *, unit: str = "jinshui", unit_code: str = "410105"
) -> dict[str, Any]:
    """A valid RegisterAgency request body."""
    return {
        "uscc": uscc_for(serial, unit_code=unit_code),
        "name": f"郑州市{serial}号社会工作服务中心",
        "kind": "service_agency",
        "reporting_unit": unit,
        "address": "郑州市金水区经三路 1 号",
        "legal_representative": "张三",
        "charter_purpose": "以社会工作专业理念服务社区居民",
        "charter_scope": "社区服务、老年人服务",
        "charter_method": "个案、小组、社区工作",
        "full_time_staff": 6,
        "qualified_staff": 2,
        "service_fields": ["community_service"],
        "target_groups": ["elderly"],
        "registered_on": "2019-05-01",
    }


async def stored_events(database_url: str, schema: str = "registry") -> int:
    """How many events a service's store holds (a refused command must add none)."""
    conn = await asyncpg.connect(database_url)
    try:
        count: int = await conn.fetchval(f"SELECT count(*) FROM {schema}.events")
        return count
    finally:
        await conn.close()


async def logged_statements(pool: asyncpg.Pool, containing: str = "") -> list[str]:
    """Every statement (containing `containing`) on a one-connection pool from now on: what a
    test counts to show work shared by a group or a batch."""
    seen: list[str] = []

    def log(query: LoggedQuery) -> None:
        if containing in query.query:
            seen.append(query.query)

    async with pool.acquire() as conn:
        conn.add_query_logger(log)
    return seen


class _Server(Protocol):
    def stop(self) -> object: ...


ServerT = TypeVar("ServerT", bound=_Server)


@contextlib.contextmanager
def _own_server(start: Callable[[Path], ServerT], prefix: str) -> Iterator[ServerT]:
    """A server of the caller's own, in a state directory of its own. Not under pytest's
    tmp_path, which pytest prunes while a server may still use it."""
    state = Path(tempfile.mkdtemp(prefix=prefix))
    server = start(state)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)


def own_postgres(prefix: str) -> contextlib.AbstractContextManager[PostgresProcess]:
    """A PostgreSQL server of the caller's own, for a test that stops or kills it (never the
    session's shared one)."""
    return _own_server(start_postgres, prefix)


def own_kafka(prefix: str) -> contextlib.AbstractContextManager[KafkaProcess]:
    """A Kafka broker of the caller's own: no other test's records for a new group to catch
    up with, or a broker a test may stop."""
    return _own_server(start_kafka, prefix)


def one_lane_runtime(pool: asyncpg.Pool, schema: str) -> Runtime:
    """A service's runtime with one group-commit lane: commands submitted together form one
    group on the connection a test watches."""
    group = GroupCommit(pool, lanes=1)
    return cast(Runtime, SimpleNamespace(store=EventStore(pool, schema), commits=group))


async def run_together(
    runtime: Runtime,
    table: CommandTable,
    commands: Sequence[tuple[BaseModel, str | None]],
    scope: str,
    if_match: int | None = None,
) -> list[Any]:
    """Commands (each with its idempotency key or None) submitted at once through the one
    command path: they wait for the one lane and form one group. Results or exceptions."""

    def context(key: str | None) -> CommandContext:
        return CommandContext(
            principal=Principal("tester", Role.CITY_ADMIN),
            correlation_id=f"corr-{scope}",
            occurred_at=dt.datetime(2024, 5, 6, 7, 8, tzinfo=dt.UTC),
            command_id=None if key is None else f"client:tester:{scope}:{key}",
        )

    return await asyncio.gather(
        *(run_request(table, runtime, c, context(key), if_match) for c, key in commands),
        return_exceptions=True,
    )


async def insert_staff_changes(
    conn: Connection, events: Sequence[tuple[CloudEvent, DomainEvent]]
) -> int:
    """A test projection's form for many events: their staff changes in one insert into
    consumertest.staff_log (one row per event, so a duplicate shows). How many it inserted."""
    changes = [(e.id, ev) for e, ev in events if isinstance(ev, AgencyStaffChanged)]
    await conn.execute(
        "INSERT INTO consumertest.staff_log (event_id, uscc, staff) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::int[])",
        [i for i, _ in changes],
        [ev.uscc for _, ev in changes],
        [ev.full_time_staff for _, ev in changes],
    )
    return len(changes)
