"""Kept states that late facts made inexact, kept again in the background (issue 12).

A kept state (a checkpoint, foldworker.py) serves while no fact within its day has been
committed after it. One backdated fact makes every state kept after its day inexact, and until
a fold passed them again the next first answer of a later date folded from the state kept
before the fact's day: years of facts (1M: 6.5 s instead of 0.67, benchmarks/RESULTS.md).

Every `interval` seconds (REPORT_REKEEP_SECONDS) the service looks for facts committed since
its last look that take effect on or before the last kept day (`readmodel.late_since`: the
facts committed since, from their index). When there are and some kept states are inexact, a
worker process of its own (at a lower CPU priority, ended after the call) folds once from the
last exact state before the earliest of them and keeps each again as it passes its day
(`foldworker.keep_again`). A burst of late facts within one interval is re-kept once; no answer
waits for it (the lanes are other processes). Two instances share the work through the re-keep's
advisory lock; a re-keep killed midway leaves whole rows, and the next look finds the rest.

A look that finds every kept state exact then keeps the half-year figures by a day's recording
cut-off from the first past day missing or inexact (`recorded_days.py`), the same way: a process
of its own, under the same lock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import structlog

from servicekit.workers import worker_pool
from services.reporting import foldworker, readmodel, readmodel_recorded, recorded_days
from services.reporting.domain import checkpoint
from services.reporting.domain.periods import local_date
from services.reporting.kept_figures import half_year_layout

log = structlog.get_logger()
REST = 3.0  # after a re-keep, no look for this many times as long as it took


@dataclass
class Rekeeper:
    """The service's look for inexact kept states, and the re-keep it starts."""

    dsn: str
    interval: float  # seconds between looks (settings.py: REPORT_REKEEP_SECONDS)
    rekeeps: int = 0  # re-keeps run (tests, the benchmark)
    kept: int = 0  # states they kept again
    passes: int = 0  # passes keeping half-year figures by a day's recording cut-off
    recorded: int = 0  # rows they kept
    # The generation and snapshot of the last look that found every kept state exact: the
    # next looks only at the facts committed after it.
    exact_in: tuple[str, str] | None = None

    async def run(self, pool: asyncpg.Pool, stopped: asyncio.Event) -> None:
        """Look every `interval` seconds until `stopped`, and after a re-keep `REST` times as
        long as it took more (a steady stream of late facts, e.g. commands dated in the past:
        a quarter of a core at most); a failed look is logged and retried."""
        took = 0.0
        while not stopped.is_set():
            try:
                await asyncio.wait_for(stopped.wait(), self.interval + REST * took)
            except TimeoutError:
                started = time.monotonic()
                try:
                    took = 0.0 if await self.look(pool) is None else time.monotonic() - started
                except Exception as exc:  # the next look tries again; answers stay exact
                    log.warning("reporting.rekeep_failed", error=repr(exc))

    async def look(self, pool: asyncpg.Pool) -> int | None:
        """Keep again the states late facts made inexact, if any: how many were kept again
        (None: every kept state was exact, nothing run)."""
        async with pool.acquire() as conn:
            generation = await readmodel.current_generation(conn)
            since = self.exact_in[1] if self.exact_in and self.exact_in[0] == generation else None
            snapshot, late = await readmodel.late_since(
                conn, generation, checkpoint.LAYOUT, since, foldworker.FOLDED
            )
            unfigured = False
            if since is None or late:
                late = bool(
                    await readmodel.inexact_checkpoints(
                        conn, generation, checkpoint.LAYOUT, foldworker.FOLDED
                    )
                )
                # A build before the half-year figures, or with other figures' code, kept
                # states without this build's: computed from the states, no fold.
                kept = await readmodel.kept_days(conn, generation, checkpoint.LAYOUT)
                unfigured = not late and bool(foldworker.unfigured(kept))
            busy = (late or unfigured) and not await conn.fetchval(
                foldworker.LOCK_FREE, foldworker.lock(generation)
            )
        if not (late or unfigured):
            self.exact_in = (generation, snapshot)
            return await self.recorded_days(pool, generation)
        if busy:  # another instance's re-keep: no process started here for nothing
            return 0
        job = foldworker.keep_again if late else foldworker.keep_figures
        done = await _in_a_process_of_its_own(job, self.dsn, generation)
        self.rekeeps += 1
        self.kept += done
        log.info("reporting.rekept", generation=generation, kept=done, figures_only=not late)
        return done

    async def recorded_days(self, pool: asyncpg.Pool, generation: str) -> int | None:
        """Once the kept states are exact, keep the half-year figures by recording of every past
        day from the first missing or inexact one (recorded_days.py): how many rows (None:
        every day's were kept and exact, nothing run). One pass at 1M facts costs minutes of a
        core (its figures, a period's a day), once; each later day a fold of the day before."""
        today = local_date(dt.datetime.now(dt.UTC))
        async with pool.acquire() as conn:
            # Another instance's pass or re-keep: its rows are not looked at meanwhile.
            if not await conn.fetchval(foldworker.LOCK_FREE, foldworker.lock(generation)):
                return 0
            async with conn.transaction():
                first = await readmodel_recorded.first_unkept(
                    conn, generation, half_year_layout(), foldworker.FOLDED, today
                )
        if first is None:
            return None
        done = await _in_a_process_of_its_own(recorded_days.keep, self.dsn, generation)
        self.passes += 1
        self.recorded += done
        log.info("reporting.recorded_days_kept", generation=generation, first=str(first), rows=done)
        return done


async def _in_a_process_of_its_own(
    job: Callable[[str, str], int], dsn: str, generation: str
) -> int:
    """`job` (`foldworker.keep_again`, `keep_figures`, `recorded_days.keep`) in a new worker
    process, which ends after it: its state (~100 MiB at a million facts) goes back to the
    system. Returns once the process has ended (waited for in a thread): a look is over when
    its process is."""
    workers = worker_pool(1)
    try:
        return await asyncio.get_running_loop().run_in_executor(workers, job, dsn, generation)
    finally:
        await asyncio.to_thread(workers.shutdown, wait=True)
