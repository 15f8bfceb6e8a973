"""Group commit: concurrent commands share one transaction and one commit (issue 12).

Every command used to pay a commit of its own, a WAL flush, which bounded a service's commands to
about one per flush. Here the commands waiting when a group starts run one after another on one
connection inside one transaction, each in its own savepoint: a command that raises (a version
conflict, a refusal, a read model's unique index) rolls back its own writes only and gets its
own error, and the others commit together. Each still reads, decides and appends as before —
the same version checks, idempotency records and inline projections, the append hold taken
shared, the NOTIFY to the relay (delivered at the commit). The answer is given after the commit,
so a command is never reported accepted before it is durable; if the commit fails, every command
of the group gets that error and nothing of it was stored.

Commands that can (`Batchable`: the HTTP commands whose decision reads their own stream alone,
or whose handler names the locks they take, `servicekit.command_table.CommandRun`) run together
first, as the transaction's first work: their locks in one statement, their situations, one
read of all their streams (none for those that open theirs: `CommandHandler.opens`), one insert
of all their events and command records, then their
inline projections — a few round trips for the group instead of four or more per command. A
refusal decided in Python writes nothing and fails alone. If a statement of the batch fails,
the transaction is rolled back and begun again, and every command of the group runs alone as
above, so the one at fault fails by itself. Commands sharing a stream, a command id or a lock
with one of the batch, those whose hooks only a run alone keeps safe, and those the batch
found stale or already known run alone after it.

A few groups run at once (`lanes`), each on its own connection (kept while commands wait, given
back when idle or after a group that failed; a group's COMMIT carries the next group's BEGIN,
rolled back when the lane goes idle): the commands of one group run one after another, so a
single lane would bound a process to one command per round-trip chain.
Arrivals while every lane is busy form the next groups, so the group size follows the load by
itself. Two groups may wait for each other on rows both touch; PostgreSQL then fails one
statement as a deadlock, and that command alone is rolled back to its savepoint and run again in
a later group, like a command found stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Coroutine, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar

import asyncpg

from servicekit.db import Connection
from servicekit.eventstore.errors import RaceLost, StaleTransaction
from servicekit.eventstore.store import RACES_RETRIED_BY_CALLER
from servicekit.metrics import GROUP_COMMANDS, GROUP_SECONDS, GROUP_WAIT_SECONDS

T = TypeVar("T")
Work = Callable[[Connection], Coroutine[Any, Any, Any]]

# A command found stale (its stream was written by a transaction that began after this group's),
# one that lost a race to a concurrent writer, or a deadlock's victim is run again at the head
# of a later group, where it reads the winner's events and answers as usual (duplicate, 409).
RETRIES = 3
_RETRY = (StaleTransaction, RaceLost, asyncpg.DeadlockDetectedError)


class Batchable(ABC):
    """Work that may run together with other work of its class, in a few statements for all of
    them instead of a few for each (issue 12: every round trip costs CPU in both processes)."""

    @property
    @abstractmethod
    def batch_keys(self) -> tuple[Hashable, ...] | None:
        """What it writes (its stream, its command id): work sharing a key never shares a batch.
        None: it always runs alone."""

    @abstractmethod
    async def __call__(self, conn: Connection) -> Any:
        """Run it alone."""

    @classmethod
    @abstractmethod
    async def run_together(cls, conn: Connection, items: Sequence[Self]) -> list[Any]:
        """Each item's result, the exception that refused it (nothing of it written), or None
        (run it alone). Raises if a statement failed; the caller then undoes all of it."""


@dataclass
class _Pending:
    work: Work
    future: asyncio.Future[Any]
    context: contextvars.Context  # the request's (log fields bound to its correlation id)
    arrived: float  # loop time
    tries: int = 0


@dataclass
class GroupCommit:
    """Runs commands in shared transactions on connections of `pool`."""

    pool: asyncpg.Pool
    max_group: int = 64
    lanes: int = 4
    # How long an idle lane keeps its connection for the next command (seconds): under load
    # the lanes empty the queue between arrivals, and giving the connection back each time
    # cost the pool's reset, a round trip (issue 12).
    linger: float = 0.05
    commits: int = 0  # how many group transactions committed (for tests and metrics)
    _pending: deque[_Pending] = field(default_factory=deque)
    _runners: set[asyncio.Task[None]] = field(default_factory=set)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, work: Callable[[Connection], Coroutine[Any, Any, T]]) -> T:
        """Run `work(conn)` inside a savepoint of the next group; its result once committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        context = contextvars.copy_context()
        # This savepoint answers for the append's: a lost race reruns the command (RaceLost).
        context.run(RACES_RETRIED_BY_CALLER.set, True)
        self._pending.append(_Pending(work, future, context, loop.time()))
        self._arrived.set()
        if len(self._runners) < self.lanes:
            runner = asyncio.create_task(self._drain())
            self._runners.add(runner)
            runner.add_done_callback(self._runners.discard)
        # shield: a caller who gives up (client gone) must not cancel the group's work midway.
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        # The lane keeps its connection from one group to the next while commands wait, and
        # gives it back when idle for `linger`: the pool's acquire and its reset of the
        # connection (a round trip) are paid once per busy spell instead of once per group.
        while self._pending:
            group: list[_Pending] = []
            try:
                async with self.pool.acquire() as conn:
                    try:
                        while await self._work_waits():
                            group = self._next_group()
                            await self._run_group(conn, group)
                            group = []
                    finally:
                        await _end_unused_transaction(conn)
            except BaseException as exc:
                # Handed to every caller of the group (the next one when no connection came);
                # the lane takes a connection again, as the one it had may be broken.
                _fail(group or self._next_group(), exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise

    async def _work_waits(self) -> bool:
        """Whether commands wait, after waiting up to `linger` for one if none does. An arrival
        wakes every waiting lane and one takes it: the others wait on for the rest of their
        `linger` (issue 12: they gave their connections back, and a new lane took one again)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.linger
        while not self._pending:
            self._arrived.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)
        return True

    def _next_group(self) -> list[_Pending]:
        return [self._pending.popleft() for _ in range(min(self.max_group, len(self._pending)))]

    async def _run_group(self, conn: Connection, group: list[_Pending]) -> None:
        done: list[tuple[_Pending, Any]] = []
        retry: list[_Pending] = []
        batch = _batch_of(group)
        began = asyncio.get_running_loop().time()
        for pending in group:
            GROUP_WAIT_SECONDS.observe(began - pending.arrived)
        GROUP_COMMANDS.observe(len(group))
        if not conn.is_in_transaction():  # else begun with the last group's commit
            await conn.execute("BEGIN")
        try:
            alone = await _run_batch(conn, group, batch, done)
            # One savepoint per command, the release of the previous one and the next one
            # sent together: one round trip per command instead of two.
            mark = "SAVEPOINT group_command"
            for pending in alone:
                await _run_alone(conn, pending, mark, done, retry)
                mark = "RELEASE SAVEPOINT group_command; SAVEPOINT group_command"
            # The next group's BEGIN goes with this COMMIT (issue 12: a round trip fewer a
            # group; rolled back if the lane goes idle). A transaction that has run no
            # statement holds no snapshot and no id: it keeps no reader of the log waiting.
            await conn.execute("COMMIT; BEGIN")
        except BaseException:
            if not _connection_failed(conn):
                await conn.execute("ROLLBACK")
            raise
        self.commits += 1
        GROUP_SECONDS.observe(asyncio.get_running_loop().time() - began)
        for pending, result in done:
            if not pending.future.done():
                pending.future.set_result(result)
        self._pending.extendleft(reversed(retry))


async def _end_unused_transaction(conn: Connection) -> None:
    """Roll back the transaction the last commit began for a group that did not come, before
    the connection goes back to the pool (whose reset would complain of it)."""
    if conn.is_in_transaction() and not _connection_failed(conn):
        await conn.execute("ROLLBACK")


def _fail(group: list[_Pending], exc: BaseException) -> None:
    for pending in group:
        if not pending.future.done():
            pending.future.set_exception(exc)


async def _run_alone(
    conn: Connection,
    pending: _Pending,
    mark: str,
    done: list[tuple[_Pending, Any]],
    retry: list[_Pending],
) -> None:
    """One command in a savepoint of its own: its error rolls back its writes alone."""
    await conn.execute(mark)
    try:
        task: asyncio.Task[Any] = asyncio.create_task(pending.work(conn), context=pending.context)
        result = await asyncio.shield(task)
    except Exception as exc:  # this command's own error, its answer
        if _connection_failed(conn):
            raise  # the whole group is lost: every caller gets it
        await conn.execute("ROLLBACK TO SAVEPOINT group_command")
        pending.tries += 1
        if isinstance(exc, _RETRY) and pending.tries < RETRIES:
            retry.append(pending)
        else:
            pending.future.set_exception(exc)
    else:
        done.append((pending, result))


async def _run_batch(
    conn: Connection,
    group: list[_Pending],
    batch: list[tuple[_Pending, Batchable]],
    done: list[tuple[_Pending, Any]],
) -> list[_Pending]:
    """Run the group's batchable commands together; the commands left to run alone.

    The batch is the first work of its transaction: if one of its statements fails (a lost
    race, a read model's unique index, a deadlock), the transaction is rolled back and begun
    again, and every command of the group runs alone, so the one at fault fails by itself as
    before (no savepoint: a round trip and a subtransaction for every group, issue 12, to
    spare a rare failure a BEGIN)."""
    if not batch:
        return group
    works = [work for _, work in batch]
    try:
        answers = await type(works[0]).run_together(conn, works)
    except Exception:
        if _connection_failed(conn):
            raise  # the whole group is lost: every caller gets it
        await conn.execute("ROLLBACK; BEGIN")
        return group
    alone = [p for p in group if all(p is not b for b, _ in batch)]
    for (pending, _), answer in zip(batch, answers, strict=True):
        if answer is None:
            alone.append(pending)
        elif isinstance(answer, Exception):  # a refusal: nothing of it was written
            pending.future.set_exception(answer)
        else:
            done.append((pending, answer))
    return alone


def _batch_of(group: list[_Pending]) -> list[tuple[_Pending, Batchable]]:
    """The group's work of the first batchable kind that shares no key with another's."""
    batch: list[tuple[_Pending, Batchable]] = []
    taken: set[Hashable] = set()
    for pending in group:
        work = pending.work
        if not isinstance(work, Batchable) or (batch and type(work) is not type(batch[0][1])):
            continue
        keys = work.batch_keys
        if keys is None or taken.intersection(keys):
            continue
        taken.update(keys)
        batch.append((pending, work))
    return batch


def _connection_failed(conn: Connection) -> bool:
    return bool(conn.is_closed())
