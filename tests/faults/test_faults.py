"""The platform under faults (issue 9, "The fault-injection suite"): nothing accepted is lost,
nothing is applied twice, and the pipeline keeps moving.

Each scenario runs a burst of 300 valid commands over registry, incubation and supervision
from 16 retrying clients, does one kind of damage in the middle, waits (for a condition, never
a fixed time) until the platform has converged, and then checks everything in `checks.py`.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from socialwork_contracts.topics import SERVICES

from servicekit.locks import lock_key
from tests.faults import badrecords
from tests.faults.evidence import PRODUCERS
from tests.faults.infra import advisory_lock_holder, terminate_backend
from tests.faults.kafka_log import PARTITIONS, Reader
from tests.faults.scenario import Context, Stage, run
from tests.support import auth, wait_for

pytestmark = pytest.mark.infra

BROKER_DOWN_SECONDS = 10  # the scenario: the broker comes back 10 s after the crash
REBUILD_TIMEOUT = 240.0
INCUBATION_CONSUMER = "incubation.registry-agencies"
EPOCH = "SELECT epoch FROM incubation.consumer_epochs WHERE consumer = $1"


async def test_each_service_killed_mid_burst(stage: Stage) -> None:
    async def fault(ctx: Context) -> None:
        for n, service in enumerate(SERVICES):
            await ctx.after(0.15 * (n + 1))
            ctx.mark()
            await ctx.stage.fleet.kill_and_restart(ctx.stage.fleet.first(service))

    await run(stage, "SIGKILL each service", fault, instances={})


async def test_broker_killed_mid_burst(stage: Stage) -> None:
    async def fault(ctx: Context) -> None:
        await ctx.after(1 / 3)
        ctx.mark()
        ctx.stage.broker.kill()
        await asyncio.sleep(BROKER_DOWN_SECONDS)  # the one fixed wait: the outage itself
        await asyncio.to_thread(ctx.stage.broker.restart)

    await run(stage, "SIGKILL broker, back 10 s later", fault, instances={})


async def test_postgres_stopped_immediately_mid_burst(stage: Stage) -> None:
    async def fault(ctx: Context) -> None:
        await ctx.after(1 / 3)
        ctx.mark()
        await asyncio.to_thread(ctx.stage.postgres.crash)  # pg_ctl stop -m immediate
        await asyncio.to_thread(ctx.stage.postgres.start_again)

    await run(stage, "PostgreSQL immediate stop", fault, instances={})


async def test_relay_leader_session_terminated(stage: Stage) -> None:
    async def fault(ctx: Context) -> None:
        # Twice: the first leader's session at a third of the burst, its successor's at two.
        for fraction in (1 / 3, 2 / 3):
            await ctx.after(fraction)
            pid = await wait_for(lambda: relay_leader_session(ctx.stage), timeout=60)
            ctx.mark()
            if not await terminate_backend(ctx.stage.postgres.url, pid):
                ctx.problems.append(f"could not terminate the relay leader's session {pid}")

    await run(stage, "relay leader session killed", fault, instances={"registry": 2})


async def relay_leader_session(stage: Stage) -> int:
    """The backend holding the registry relay's leadership lock (servicekit.leadership), or 0."""
    database = stage.database_url.rpartition("/")[2]
    key = lock_key("leader", "relay:registry")
    return await advisory_lock_holder(stage.postgres.url, database, key) or 0


async def test_rebuild_with_two_instances(stage: Stage) -> None:
    """Incubation's consumer is rebuilt in place (every instance rewinds), reporting's into a new
    generation it switches to; both mid-burst, and both must finish."""

    async def fault(ctx: Context) -> None:
        await ctx.after(1 / 3)
        fleet, url = ctx.stage.fleet, ctx.stage.database_url
        first_generation = await fetch(url, "SELECT current FROM reporting.generation")
        live = await fetch(url, "SELECT live_consumer FROM reporting.installation")
        ctx.mark()
        async with httpx.AsyncClient(timeout=60) as client:
            for service, consumer in (("incubation", INCUBATION_CONSUMER), ("reporting", live)):
                target = f"{fleet.first(service).url}/admin/consumers/{consumer}/rebuild"
                answer = await client.post(target, headers=auth())
                if answer.status_code != 202:
                    ctx.problems.append(f"rebuild {consumer}: {answer.status_code} {answer.text}")

        async def rebuilt() -> bool:
            epoch = await fetch(url, EPOCH, INCUBATION_CONSUMER)
            generation = await fetch(url, "SELECT current FROM reporting.generation")
            return epoch == 1 and generation != first_generation and not await fleet.not_ready()

        await wait_for(rebuilt, timeout=REBUILD_TIMEOUT, interval=0.5)

    await run(stage, "rebuild, two instances", fault, instances={"incubation": 2, "reporting": 2})


async def test_reporting_rebuild_asked_while_the_broker_is_down(stage: Stage) -> None:
    """An operator's rebuild of reporting (a process of its own) asked while the broker is
    down: it must not hang nor leave a half-built generation. It switches once the broker is
    back, or says why it failed and a second one switches."""

    async def fault(ctx: Context) -> None:
        await ctx.after(1 / 3)
        ctx.mark()
        ctx.stage.broker.kill()
        rebuild = await ReportingRebuild.ask(ctx)
        await asyncio.sleep(BROKER_DOWN_SECONDS)  # the one fixed wait: the outage itself
        await asyncio.to_thread(ctx.stage.broker.restart)
        await rebuild.switched(ctx)

    await run(stage, "reporting rebuilt, broker down", fault, instances={})


async def test_reporting_rebuild_through_a_postgres_immediate_stop(stage: Stage) -> None:
    """PostgreSQL stopped in immediate mode while an operator's rebuild of reporting runs: the
    rebuild fails with its reason (or, had it finished first, switched), the service answers on
    once PostgreSQL is back, and a second rebuild switches."""

    async def fault(ctx: Context) -> None:
        await ctx.after(1 / 3)
        ctx.mark()
        rebuild = await ReportingRebuild.ask(ctx)
        await wait_for(rebuild.loading, timeout=REBUILD_TIMEOUT, interval=0.05)
        await asyncio.to_thread(ctx.stage.postgres.crash)  # pg_ctl stop -m immediate
        await asyncio.to_thread(ctx.stage.postgres.start_again)
        await rebuild.switched(ctx)

    await run(stage, "reporting rebuilt, PostgreSQL stopped", fault, instances={})


class ReportingRebuild:
    """`POST /admin/consumers/<live consumer>/rebuild` on reporting, and its end as
    `/projection/status` shows it."""

    def __init__(self, url: str, service: str, consumer: str, first_generation: object) -> None:
        self.url, self.service, self.consumer = url, service, consumer
        self.first_generation = first_generation
        self.ends: list[dict[str, object]] = []  # each rebuild's status once it ended

    @classmethod
    async def ask(cls, ctx: Context) -> ReportingRebuild:
        url = ctx.stage.database_url
        rebuild = cls(
            url,
            ctx.stage.fleet.first("reporting").url,
            str(await fetch(url, "SELECT live_consumer FROM reporting.installation")),
            await fetch(url, "SELECT current FROM reporting.generation"),
        )
        await rebuild._post(ctx)
        return rebuild

    async def _post(self, ctx: Context) -> None:
        async with httpx.AsyncClient(timeout=60) as client:
            target = f"{self.service}/admin/consumers/{self.consumer}/rebuild"
            answer = await client.post(target, headers=auth())
        if answer.status_code != 202:
            ctx.problems.append(f"rebuild: {answer.status_code} {answer.text}")

    async def loading(self) -> bool:
        """The rebuild has named its generation (its schema is made as its load starts)."""
        named = await fetch(
            self.url,
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'reporting\\_g%'",
        )
        return named == 2

    async def _ended(self) -> dict[str, object] | None:
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                answer = await client.get(f"{self.service}/projection/status", headers=auth())
        except httpx.HTTPError:
            return None  # the service waits for PostgreSQL meanwhile
        status = answer.json().get("rebuild") if answer.status_code == 200 else None
        return status if status and status["state"] != "running" else None

    async def switched(self, ctx: Context) -> None:
        """Wait for the rebuild's end; one that failed (with its reason) is asked once more."""
        for _ in range(2):
            ended = await wait_for(self._ended, timeout=REBUILD_TIMEOUT, interval=0.5)
            assert ended is not None
            self.ends.append(ended)
            if ended["state"] == "switched":
                break
            if ended["state"] != "failed" or not ended.get("error"):
                ctx.problems.append(f"rebuild ended without a reason: {ended}")
            await self._post(ctx)
        else:
            ctx.problems.append(f"no rebuild switched: {self.ends}")
            return
        generation = await fetch(self.url, "SELECT current FROM reporting.generation")
        if generation == self.first_generation:
            ctx.problems.append(f"switched, yet readers are on {generation}: {self.ends}")
        schemas: Any = await fetch(
            self.url,
            "SELECT array_agg(nspname::text ORDER BY nspname) FROM pg_namespace "
            "WHERE nspname LIKE 'reporting\\_g%'",
        )
        # After its switch a replay keeps the new generation and the one readers were on.
        if set(schemas or []) != {generation, self.first_generation}:
            ctx.problems.append(f"generations left: {schemas}, current {generation}")


async def test_supervision_rebuild_while_serving(stage: Stage) -> None:
    """Supervision's read model rebuilt from its log mid-burst (`rebuild-read-model`: appends
    held, tables rewritten in one transaction) while two instances take commands and its
    consumers fold registry and incubation events; nothing is lost: every credit file's row is at
    its stream's last version, and the tables equal a second rebuild on the quiet system."""

    async def fault(ctx: Context) -> None:
        await ctx.after(1 / 3)
        ctx.mark()
        said = await rebuild_read_model(ctx.stage, "supervision")
        if "supervision read model rebuilt" not in said:
            ctx.problems.append(f"rebuild-read-model: {said}")

    await run(stage, "supervision rebuilt, two instances", fault, instances={"supervision": 2})
    url = stage.database_url
    assert await supervision_tables(url, CREDIT_FILE_BEHIND) == [[]]
    before = await supervision_tables(url, *SUPERVISION_TABLES)
    assert before[0], "the burst recorded no credit file"
    await rebuild_read_model(stage, "supervision")
    assert await supervision_tables(url, *SUPERVISION_TABLES) == before


# A credit file whose row is not at its stream's last stored version (or has no row at all).
CREDIT_FILE_BEHIND = (
    "SELECT e.stream_id, e.version, f.version AS row_version FROM (SELECT stream_id, "
    "max(stream_version) AS version FROM supervision.events GROUP BY stream_id) e "
    "LEFT JOIN supervision.credit_files f ON f.uscc = e.stream_id "
    "WHERE f.version IS DISTINCT FROM e.version"
)
SUPERVISION_TABLES = tuple(
    f"SELECT * FROM supervision.{table} ORDER BY {key}"
    for table, key in (
        ("credit_files", "uscc"),
        ("rectifications", "rectification_id"),
        ("annual_reports", "uscc, year"),
        ("listings", "listing_id"),
    )
)


async def rebuild_read_model(stage: Stage, service: str) -> str:
    """`python -m services.<service> rebuild-read-model` as an operator runs it; its output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        f"services.{service}",
        "rebuild-read-model",
        env={**os.environ, **stage.fleet.env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), REBUILD_TIMEOUT)
    return f"exit {process.returncode}: {out.decode()[-2000:]}"


async def supervision_tables(database_url: str, *queries: str) -> list[list[dict[str, object]]]:
    conn = await asyncpg.connect(database_url)
    try:
        return [[dict(r) for r in await conn.fetch(q)] for q in queries]
    finally:
        await conn.close()


async def fetch(database_url: str, query: str, *args: object) -> object:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def test_bad_records_between_valid_ones(stage: Stage) -> None:
    async def fault(ctx: Context) -> None:
        await ctx.after(1 / 3)
        producer = AIOKafkaProducer(
            bootstrap_servers=ctx.stage.broker.bootstrap, max_request_size=2 * 1024 * 1024
        )
        await producer.start()
        try:
            async with Reader(ctx.stage.broker.bootstrap) as reader:
                for service, topic in PRODUCERS.items():
                    # Only each partition's last record: a whole-topic read here took long
                    # enough for the burst to send every chain that would follow the injection.
                    last = {r.partition: r for r in await reader.last_records(topic)}
                    valid = last[pending_partition(ctx, service, set(last))]  # sent again
                    ctx.mark()
                    ctx.injected += await badrecords.inject(producer, valid)
        finally:
            await producer.stop()

    await run(stage, "bad records on every topic", fault, instances={})


def pending_partition(ctx: Context, service: str, candidates: set[int]) -> int:
    """A partition among `candidates` that a chain of `service` not yet sent will write to, so
    valid records surely follow what is injected there."""
    topic = PRODUCERS[service]
    for chain in reversed(ctx.workload.chains):
        if chain[0].service == service and chain[0].key not in ctx.oracle.commands:
            stream = str(chain[0].body.get("base_id") or chain[0].body["uscc"])
            partition = DefaultPartitioner()(stream.encode(), list(range(PARTITIONS[topic])), [])
            if partition in candidates:
                return int(partition)
    raise AssertionError(f"no {service} chain left to write to partitions {candidates}")
