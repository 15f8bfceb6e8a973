"""Reporting's read model, as `python -m services.reporting rebuild-read-model` (or `replay`)
rebuilds it: not from a store of its own but from the three event topics, replayed from offset 0
into a new generation that readers are switched to (replay.py), through servicekit.rebuild's
command like every other service's."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import time
from dataclasses import dataclass

import asyncpg
import structlog
from socialwork_contracts.topics import EVENT_TOPICS

from servicekit.eventstore.store import create_pool
from servicekit.kafka_security import kafka_security
from servicekit.settings import ServiceSettings
from servicekit.workers import worker_pool
from services.reporting import foldworker, readmodel
from services.reporting.domain.periods import local_date
from services.reporting.replay import next_generation, replay

log = structlog.get_logger()


@dataclass(frozen=True)
class ReplayedProjection:
    """The projection replayed and switched to, the previous generation kept for readers."""

    workers: int = 1
    keep: int = 2

    async def rebuild(self, settings: ServiceSettings) -> str:
        outcome = await run_replay(settings, switch=True, keep=self.keep, workers=self.workers)
        if not outcome["switched"]:
            raise SystemExit(f"replayed but not switched: {outcome}")
        return json.dumps(outcome, ensure_ascii=False)


class ProgressBar:
    """A one-line progress bar with rate and time left, redrawn at most 5 times a second."""

    def __init__(self, label: str, width: int = 30) -> None:
        self.label = label
        self.width = width
        self.started = time.monotonic()
        self.last_draw = 0.0

    def __call__(self, done: int, total: int, *, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.last_draw < 0.2:
            return
        self.last_draw = now
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        share = done / total if total else 1.0
        left = (total - done) / rate if rate > 0 else 0.0
        filled = int(self.width * share)
        bar = "█" * filled + "░" * (self.width - filled)
        sys.stderr.write(
            f"\r{self.label} {bar} {share:6.1%} {done:,}/{total:,} "
            f"{rate:,.0f} 条/s 剩余 {time.strftime('%H:%M:%S', time.gmtime(left))}"
        )
        if final:
            sys.stderr.write("\n")
        sys.stderr.flush()


async def run_replay(
    settings: ServiceSettings, *, switch: bool, keep: int, workers: int = 1
) -> dict[str, object]:
    pool = await create_pool(settings.database_url)
    try:
        generation = await next_generation(pool)
        bar = ProgressBar(f"重放 {generation}")
        result = await replay(
            pool,
            settings.kafka_bootstrap_servers,
            [t.name for t in EVENT_TOPICS],
            generation=generation,
            switch=switch,
            progress=bar,
            dsn=settings.database_url,
            workers=workers,
            security=kafka_security(settings),
        )
        bar(result.events, result.events, final=True)
        if result.switched:
            async with pool.acquire() as conn:
                # Keep the previous generation(s) so readers mid-query are never cut off.
                for old in (await readmodel.generations(conn))[:-keep]:
                    await readmodel.drop_generation(conn, old)
            await keep_checkpoints(settings.database_url, result.generation)
        return {
            "generation": result.generation,
            "events": result.events,
            "facts": result.facts,
            "skipped": result.skipped,
            "dead_lettered": result.dead_lettered,
            "seconds": round(result.seconds, 2),
            "events_per_second": round(result.events / result.seconds) if result.seconds else 0,
            "switched": result.switched,
        }
    finally:
        await pool.close()


async def keep_checkpoints(dsn: str, generation: str) -> None:
    """One fold of the new generation as of today in a fold worker process, which keeps its
    state at every quarter end (foldworker.keep_every_quarter), after the switch-over: the
    first report of any date starts from the last quarter end before it, not from the first
    fact, and one as of a quarter end folds nothing. First the index a by-recording answer
    from them reads, which the bulk replay left out."""
    today = local_date(dt.datetime.now(dt.UTC))
    try:
        conn = await asyncpg.connect(dsn)
        try:
            await readmodel.ensure_checkpoint_index(conn, generation)
        finally:
            await conn.close()
        with worker_pool(1) as workers:
            await asyncio.get_running_loop().run_in_executor(
                workers, foldworker.keep_every_quarter, dsn, generation, today
            )
    except Exception as exc:
        # The switch-over is done and every answer stays exact without them: the first fold
        # of a date keeps them instead. A rebuild does not fail for it.
        log.warning("reporting.checkpoints_not_kept", generation=generation, error=repr(exc))
