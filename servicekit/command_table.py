"""One way to run a command: a service's table of commands and the entry point that runs them.

Each writing service declares, in `services/<name>/handlers.py`, one `COMMANDS` table: for every
command type, how to find its stream, fold it, decide, authorise and project it, with two hooks
that run first in the command's transaction — locks, then the situation (what the decision needs
beyond its own stream: another aggregate, a read model of another service's events). HTTP routes,
process managers and scheduled checks all call `run_command` with that table.

A command with hooks may run in a group's batch (`CommandRun.run_together`) when its handler
says which advisory locks it takes, from the command alone (`together`): the batch takes every
lock of its commands in one statement (ascending keys: `servicekit.locks.lock_all`), then reads
their situations, then their streams in one statement, decides and appends them together. The
situations are all read before any of the batch writes, so the handler promises that no other
command of the batch writes what its situation reads — except under one of its lock keys, and
commands sharing a lock key (a stream, a command id) never share a batch: the later one runs
alone after it and reads what the batch wrote. Each handler says in a comment why that holds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from socialwork_contracts.base import DomainEvent

from servicekit.auth import Principal
from servicekit.commands import CommandContext, CommandSteps, Outcome, execute, execute_together
from servicekit.db import Connection
from servicekit.eventstore import EventStore
from servicekit.eventstore.store import InlineProjection
from servicekit.group_commit import Batchable
from servicekit.locks import LockKey, lock_all

S = TypeVar("S")  # the aggregate's state
C = TypeVar("C")  # the commands this handler takes
F = TypeVar("F")  # the situation its decisions read


@dataclass(frozen=True)
class CommandHandler(Generic[S, C, F]):
    """How one kind of command runs; `decide` and `authorize` get the situation last (None
    without a `situation` hook). Without `lock`, the stream's expected version is all the
    concurrency control the command needs.

    `together`: for a handler with hooks, the locks a command takes (what `lock` takes, known
    from the command alone) when it may be decided in a group's batch; None, or no function:
    it runs alone. `situations`: the situation of several commands in fewer round trips than
    one `situation` each (the batch reads them in sequence without it).

    `opens`: whether a command starts its stream (a registration), so that a batch decides it
    on no state and appends it at version 1 without reading the stream (issue 12: a group of
    them is one statement, its insert). Its decision on an existing stream must be a refusal:
    if the stream or the command id exists after all, the insert trips a unique constraint and
    the group's commands run alone, each reading its stream as usual."""

    stream_id: Callable[[C], str]
    evolve: Callable[[S | None, DomainEvent], S]
    decide: Callable[[S | None, C, F], Sequence[DomainEvent]]
    authorize: Callable[[Principal, S | None, C, F], None]
    inline: Callable[[S], InlineProjection] | None = None
    lock: Callable[[EventStore, Connection, C], Awaitable[None]] | None = None
    situation: Callable[[EventStore, Connection, C], Awaitable[F]] | None = None
    together: Callable[[C], Sequence[LockKey] | None] | None = None
    situations: Callable[[EventStore, Connection, Sequence[C]], Awaitable[Sequence[F]]] | None = (
        None
    )
    opens: Callable[[C], bool] | None = None

    def batch_locks(self, command: C) -> Sequence[LockKey] | None:
        """The locks `command` takes in a batch; None: it runs alone."""
        if self.lock is None and self.situation is None:
            return ()  # its decision reads its own stream alone
        return None if self.together is None else self.together(command)


# Command type -> how it runs: a service's `handlers.COMMANDS`.
CommandTable = Mapping[type[BaseModel], CommandHandler[Any, Any, Any]]


class UndeclaredCommand(LookupError):
    """A command the service's table does not declare: a programming error, never a refusal."""


def handler_of(commands: CommandTable, kind: type[BaseModel]) -> CommandHandler[Any, Any, Any]:
    try:
        return commands[kind]
    except KeyError:
        raise UndeclaredCommand(f"{kind.__name__} is not in the COMMANDS table") from None


def _steps(
    handler: CommandHandler[Any, Any, Any],
    command: BaseModel,
    context: CommandContext,
    expected_version: int | None,
    situation: Any,
) -> CommandSteps[Any, Any]:
    def decide(state: Any, given: Any) -> Sequence[DomainEvent]:
        return handler.decide(state, given, situation)

    def authorize(state: Any) -> None:
        handler.authorize(context.principal, state, command, situation)

    return CommandSteps(
        stream_id=handler.stream_id(command),
        command=command,
        context=context,
        evolve=handler.evolve,
        decide=decide,
        authorize=authorize,
        expected_version=expected_version,
        inline=handler.inline,
        # A caller expecting a version other than none (If-Match) gets its answer from a read.
        opens=expected_version in (None, 0)
        and handler.opens is not None
        and handler.opens(command),
    )


async def run_command(
    commands: CommandTable,
    store: EventStore,
    conn: Connection,
    command: BaseModel,
    context: CommandContext,
    expected_version: int | None = None,
) -> Outcome:
    """Run one command inside the caller's transaction on `conn`: its locks, its situation read
    after them, then the four steps of `servicekit.commands.execute`."""
    handler = handler_of(commands, type(command))
    if handler.lock is not None:
        await handler.lock(store, conn, command)
    situation = None if handler.situation is None else await handler.situation(store, conn, command)
    steps = _steps(handler, command, context, expected_version, situation)
    return await execute(store, steps, conn=conn)


@dataclass(frozen=True)
class CommandRun(Batchable):
    """`run_command` as the work of a group commit. A command without hooks, or one whose
    handler says which locks it takes (`CommandHandler.together`), may run together with the
    group's others (`execute_together`)."""

    commands: CommandTable
    store: EventStore
    command: BaseModel
    context: CommandContext
    expected_version: int | None = None

    @property
    def batch_keys(self) -> tuple[Hashable, ...] | None:
        handler = handler_of(self.commands, type(self.command))
        locks = handler.batch_locks(self.command)
        if locks is None:
            return None  # its hooks read and lock in ways only a run alone keeps safe
        keys: list[Hashable] = [("stream", handler.stream_id(self.command))]
        if self.context.command_id is not None:
            keys.append(("command", self.context.command_id))
        return (*keys, *(("lock", *lock) for lock in locks))

    async def __call__(self, conn: Connection) -> Outcome:
        return await run_command(
            self.commands, self.store, conn, self.command, self.context, self.expected_version
        )

    @classmethod
    async def run_together(cls, conn: Connection, items: Sequence[CommandRun]) -> list[Any]:
        stores = {id(item.store) for item in items}
        if len(stores) != 1:
            raise ValueError("commands of several stores cannot share one batch")
        store = items[0].store
        handlers = [handler_of(item.commands, type(item.command)) for item in items]
        # Every lock first, in one order (no cycle with another group or a process manager),
        # then the situations, read under them, as `run_command` does for one command.
        await lock_all(
            conn,
            (
                lock
                for handler, item in zip(handlers, items, strict=True)
                for lock in handler.batch_locks(item.command) or ()
            ),
        )
        situations = await _situations(store, conn, handlers, [item.command for item in items])
        steps = [
            _steps(handler, item.command, item.context, item.expected_version, situation)
            for handler, item, situation in zip(handlers, items, situations, strict=True)
        ]
        return await execute_together(store, conn, steps)


async def _situations(
    store: EventStore,
    conn: Connection,
    handlers: Sequence[CommandHandler[Any, Any, Any]],
    commands: Sequence[BaseModel],
) -> list[Any]:
    """Each command's situation: a handler's many-form once for all its commands, else one
    read each, in sequence (on the batch's connection, without a savepoint each)."""
    found: list[Any] = [None] * len(commands)
    by_handler: dict[int, list[int]] = {}
    for i, handler in enumerate(handlers):
        by_handler.setdefault(id(handler), []).append(i)
    for indexes in by_handler.values():
        handler = handlers[indexes[0]]
        if handler.situations is not None:
            many = await handler.situations(store, conn, [commands[i] for i in indexes])
            for i, situation in zip(indexes, many, strict=True):
                found[i] = situation
        elif handler.situation is not None:
            for i in indexes:
                found[i] = await handler.situation(store, conn, commands[i])
    return found
