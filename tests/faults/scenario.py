"""One scenario from start to verdict: services up, seeds, a burst with a fault, convergence."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from devstack.postgres import PostgresProcess
from socialwork_contracts.topics import SERVICES

from tests.faults import report
from tests.faults.badrecords import Injected
from tests.faults.checks import Verdict, judge
from tests.faults.evidence import CheckpointWatch, consumers, gather, wait_converged
from tests.faults.fleet import Fleet
from tests.faults.infra import Broker, ClusterBroker
from tests.faults.kafka_log import Reader
from tests.faults.load import Oracle, burst
from tests.faults.workload import Workload, build
from tests.support import auth, wait_for

GIVE_UP_AFTER = 150.0  # seconds into the burst after which clients stop retrying


@dataclass
class Stage:
    """Fresh for each scenario: broker, database, services (the server outlives them)."""

    postgres: PostgresProcess
    broker: Broker | ClusterBroker
    database_url: str
    fleet: Fleet
    rows: list[report.Row]
    table_path: Path


@dataclass
class Context:
    """What a fault sees: the stage, the load so far; what it leaves: when, and what failed."""

    stage: Stage
    oracle: Oracle
    workload: Workload
    fault_at: float | None = None
    injected: list[Injected] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    async def after(self, fraction: float) -> None:
        """Wait until this fraction of the burst has been accepted (the seeds come first)."""
        seeds = len(self.workload.seeds)
        await self.oracle.wait_accepted(seeds + int(fraction * self.workload.burst_size))

    def mark(self) -> None:
        """The fault happens now; it must land while the burst is still being accepted."""
        if self.fault_at is None:
            self.fault_at = time.monotonic()
        if self.oracle.finished:
            self.problems.append("a fault came after the burst was over")


Fault = Callable[[Context], Awaitable[None]]


async def run(
    stage: Stage,
    name: str,
    fault: Fault,
    *,
    instances: dict[str, int],
    total: int | None = None,
) -> Oracle:
    """Run the scenario, add its row to the table, and fail with every check that failed.

    `total` shortens the burst (the cluster tests); returns what the clients were told."""
    started = time.monotonic()
    phases = Phases()
    for service in SERVICES:
        stage.fleet.add(service, instances.get(service, 1))
    await stage.fleet.start()
    phases.end("start")
    stop_watch = asyncio.Event()
    watch = CheckpointWatch(stage.database_url)
    watching = asyncio.create_task(watch.run(stop_watch))
    workload = build(name) if total is None else build(name, total=total)
    oracle = Oracle()
    headers = auth()  # one token for the whole run: a retry comes from the same caller
    ctx = Context(stage, oracle, workload)

    await burst(workload.seeds, oracle, stage.fleet.url, headers, give_up_after=60)
    await wait_for(lambda: _supervision_knows(stage.database_url, workload.seed_usccs), timeout=90)
    phases.end("seeds")
    faulting = asyncio.create_task(_guarded(fault, ctx))
    await burst(workload.chains, oracle, stage.fleet.url, headers, give_up_after=GIVE_UP_AFTER)
    oracle.finish()
    phases.end("burst")
    await faulting  # e.g. a restart still under way; every fault's own waits are bounded
    if ctx.fault_at is None:
        ctx.problems.append("the fault never happened")

    async with Reader(stage.broker.bootstrap) as reader:
        specs = await consumers(stage.database_url)
        converged = await wait_converged(stage.database_url, reader, specs, oracle.penalties())
        phases.end("converge")
        evidence = await gather(stage.database_url, reader, specs)
        phases.end("read")
    stop_watch.set()
    await watching
    not_ready = await _wait_ready(stage.fleet)

    verdict = judge(oracle, evidence, specs, ctx.injected)
    _add_load_failures(verdict, oracle, ctx, stage.fleet, watch)
    verdict.fail("instances not ready after convergence", not_ready)
    if converged is None:
        verdict.fail("never converged", ["nothing moved for a minute, or 4 minutes passed"])
    fault_at = ctx.fault_at or started
    row = report.Row(
        scenario=name,
        sent=len(oracle.commands),
        accepted=len(oracle.accepted),
        verdict=verdict,
        converged=None if converged is None else converged - fault_at,
        duration=time.monotonic() - started,
        details=f"{phases}; answers {dict(sorted(oracle.answers.items()))}; "
        f"{verdict.duplicates} republished duplicates; {watch.samples} relay checkpoint samples",
    )
    stage.rows.append(row)
    report.write(stage.rows, stage.table_path)
    assert not verdict.failures, (
        f"scenario {name!r} failed {len(verdict.failures)} check(s):\n- "
        + "\n- ".join(verdict.failures)
        + f"\nservice logs ({stage.fleet.log_dir}):\n{stage.fleet.log_summary()}"
    )
    return oracle


class Phases:
    """Seconds each step took, for the details under the table."""

    def __init__(self) -> None:
        self.last = time.monotonic()
        self.spent: dict[str, float] = {}

    def end(self, name: str) -> None:
        now = time.monotonic()
        self.spent[name], self.last = now - self.last, now

    def __str__(self) -> str:
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.spent.items())


async def _guarded(fault: Fault, ctx: Context) -> None:
    """A fault that breaks is a finding of the scenario, not a crash of the harness."""
    try:
        await fault(ctx)
    except Exception as exc:
        ctx.problems.append(f"the fault could not be carried out: {exc!r}")


def _add_load_failures(
    verdict: Verdict, oracle: Oracle, ctx: Context, fleet: Fleet, watch: CheckpointWatch
) -> None:
    verdict.fail("valid commands refused (4xx)", [f"{k}: {v}" for k, v in oracle.refused.items()])
    verdict.fail(f"commands not accepted within {GIVE_UP_AFTER:.0f} s", sorted(oracle.gave_up))
    verdict.fail("fault", ctx.problems)
    verdict.fail("services that died", fleet.exited())
    verdict.fail("relay checkpoints that moved backwards", watch.regressions)
    verdict.fail("relay checkpoints never sampled", [] if watch.samples else ["no sample"])


async def _wait_ready(fleet: Fleet, timeout: float = 60.0) -> list[str]:
    """Instances still not ready after `timeout` (a restart may still be finishing)."""
    deadline = time.monotonic() + timeout
    while True:
        not_ready = await fleet.not_ready()
        if not not_ready or time.monotonic() > deadline:
            return not_ready
        await asyncio.sleep(0.5)


async def _supervision_knows(database_url: str, usccs: list[str]) -> bool:
    conn = await asyncpg.connect(database_url)
    try:
        known: int = await conn.fetchval(
            "SELECT count(*) FROM supervision.agencies WHERE uscc = ANY($1)", usccs
        )
    finally:
        await conn.close()
    return known == len(usccs)
