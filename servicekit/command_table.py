"""One way to run a command: a service's table of commands and the entry point that runs them.

Each writing service declares, in `services/<name>/handlers.py`, one `COMMANDS` table: for every
command type, how to find its stream, fold it, decide, authorise and project it, with two hooks
that run first in the command's transaction — locks, then the situation (what the decision needs
beyond its own stream: another aggregate, a read model of another service's events). HTTP routes,
process managers and scheduled checks all call `run_command` with that table.
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

S = TypeVar("S")  # the aggregate's state
C = TypeVar("C")  # the commands this handler takes
F = TypeVar("F")  # the situation its decisions read


@dataclass(frozen=True)
class CommandHandler(Generic[S, C, F]):
    """How one kind of command runs; `decide` and `authorize` get the situation last (None
    without a `situation` hook). Without `lock`, the stream's expected version is all the
    concurrency control the command needs."""

    stream_id: Callable[[C], str]
    evolve: Callable[[S | None, DomainEvent], S]
    decide: Callable[[S | None, C, F], Sequence[DomainEvent]]
    authorize: Callable[[Principal, S | None, C, F], None]
    inline: Callable[[S], InlineProjection] | None = None
    lock: Callable[[EventStore, Connection, C], Awaitable[None]] | None = None
    situation: Callable[[EventStore, Connection, C], Awaitable[F]] | None = None


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
    """`run_command` as the work of a group commit. A command without hooks (its decision reads
    its own stream alone) may run together with the group's others (`execute_together`)."""

    commands: CommandTable
    store: EventStore
    command: BaseModel
    context: CommandContext
    expected_version: int | None = None

    @property
    def batch_keys(self) -> tuple[Hashable, ...] | None:
        handler = handler_of(self.commands, type(self.command))
        if handler.lock is not None or handler.situation is not None:
            return None  # its hooks read and lock in the transaction: run alone
        command_id = self.context.command_id
        stream = ("stream", handler.stream_id(self.command))
        return (stream,) if command_id is None else (stream, ("command", command_id))

    async def __call__(self, conn: Connection) -> Outcome:
        return await run_command(
            self.commands, self.store, conn, self.command, self.context, self.expected_version
        )

    @classmethod
    async def run_together(cls, conn: Connection, items: Sequence[CommandRun]) -> list[Any]:
        stores = {id(item.store) for item in items}
        if len(stores) != 1:
            raise ValueError("commands of several stores cannot share one batch")
        steps = [
            _steps(
                handler_of(item.commands, type(item.command)),
                item.command,
                item.context,
                item.expected_version,
                None,
            )
            for item in items
        ]
        return await execute_together(items[0].store, conn, steps)
