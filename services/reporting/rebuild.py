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
from collections.abc import Awaitable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog
from socialwork_contracts.topics import EVENT_TOPICS

from servicekit.eventstore.store import create_pool
from servicekit.http import Problem
from servicekit.kafka_security import kafka_security
from servicekit.logging import configure_logging
from servicekit.settings import StoreSettings
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

    async def rebuild(self, settings: StoreSettings) -> str:
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
    settings: StoreSettings,
    *,
    switch: bool,
    keep: int,
    workers: int = 1,
    generation: str | None = None,
    shown: bool = True,
) -> dict[str, object]:
    """The replay into `generation` (else the next one), switched to if `switch`; then it, the
    generation readers were on and the `keep` - 2 newest others kept (`superseded`); its
    progress drawn on the terminal if `shown`."""
    pool = await create_pool(settings.database_url)
    try:
        generation = generation or await next_generation(pool)
        async with pool.acquire() as conn:
            readers_had = await readmodel.current_generation(conn)
        bar = ProgressBar(f"重放 {generation}") if shown else None
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
        if bar is not None:
            bar(result.events, result.events, final=True)
        if result.switched:
            async with pool.acquire() as conn:
                existing = await readmodel.generations(conn)
                for old in superseded(existing, result.generation, readers_had, keep):
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


def superseded(existing: list[str], new: str, readers_had: str, keep: int) -> list[str]:
    """The generations older than `new` (in `existing`'s order, oldest first) to drop after the
    switch to it: all but the one readers were on (they may be mid-query) and the `keep` - 2
    newest others. By position alone, the newest two before a half-built one left by a replay
    stopped before its switch were kept, and the readers' dropped."""
    if new not in existing:
        return []
    older = [g for g in existing[: existing.index(new)] if g != readers_had]
    return older[: max(0, len(older) - (keep - 2))]


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


def replayed_in_worker(settings: StoreSettings, generation: str, keep: int) -> dict[str, object]:
    """`run_replay` as the command runs it, in a worker process, logging as the service does."""
    configure_logging("reporting", settings.log_level)
    return asyncio.run(
        run_replay(settings, switch=True, keep=keep, generation=generation, shown=False)
    )


class OperatorRebuild:
    """The rebuild an operator asks of an instance (POST /admin/consumers/{name}/rebuild): one
    at a time, the command's (`run_replay`), in a process of its own.

    In the service's process the replay's parse held the event loop batch after batch, and its
    memory stayed with the service (1M events: 489 MiB at its peak, against the pod's 512 MiB
    limit, beside the fold workers). An out-of-memory kill takes a container's largest process:
    now the replay's, and the service answers on from the generation it had. The generation a
    failed rebuild made is dropped: never switched to, nothing reads it."""

    def __init__(self, keep: int = 2) -> None:
        self.settings: StoreSettings | None = None  # given with the runtime (app.py)
        self.keep = keep
        self.status: dict[str, Any] | None = None  # the last rebuild's (/projection/status)

    def start(self, pool: asyncpg.Pool) -> Awaitable[dict[str, object]]:
        """The rebuild to run (a 409 problem while one runs here)."""
        if self.status is not None and self.status["state"] == "running":
            raise Problem(
                409,
                "rebuild_running",
                "重建正在进行 (a rebuild is running)",
                json.dumps(self.status, ensure_ascii=False, default=str),
            )
        # Shown at once: a status read right after the 202 is this rebuild's, not the last one's.
        self.status = {"state": "running", "started_at": dt.datetime.now(dt.UTC).isoformat()}
        return self._run(pool, self.status)

    async def _run(self, pool: asyncpg.Pool, status: dict[str, Any]) -> dict[str, object]:
        assert self.settings is not None, "given with the runtime"
        generation: str | None = None
        try:
            generation = await next_generation(pool)
            workers = worker_pool(1)
            status = self.status = {**status, "generation": generation, "process": workers.pids[0]}
            try:
                outcome = await asyncio.get_running_loop().run_in_executor(
                    workers, replayed_in_worker, self.settings, generation, self.keep
                )
            finally:
                workers.shutdown(wait=False)  # not waited for on this loop: the process exits
        except BaseException as exc:  # the service stopping too: no rebuild shown as running
            self.status = {**status, "state": "failed", "error": _failure(exc)}
            if generation is not None and isinstance(exc, Exception):
                await _drop_unless_current(pool, generation)
            raise
        state = "switched" if outcome["switched"] else "not_switched"
        self.status = {**status, "state": state, "outcome": outcome}
        return outcome


def _failure(exc: BaseException) -> str:
    if isinstance(exc, asyncio.CancelledError):
        return "the service stopped during the rebuild (its process ends with it)"
    if isinstance(exc, BrokenProcessPool):
        return f"the rebuild's process ended before it was done (killed, out of memory?): {exc}"
    return f"{type(exc).__name__}: {exc}"


async def _drop_unless_current(pool: asyncpg.Pool, generation: str) -> None:
    """The failed rebuild's generation dropped, unless it was switched to before it failed (then
    readers use it). If the database is what failed, it stays: the next rebuild takes the name
    after it, and the command's `--keep` drops it with the older ones."""
    try:
        async with pool.acquire() as conn:
            if await readmodel.current_generation(conn) != generation:
                await readmodel.drop_generation(conn, generation)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        log.warning("reporting.rebuild_generation_left", generation=generation, error=repr(exc))
