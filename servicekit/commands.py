"""Every command's four steps: load the stream, fold it, decide, append at the expected version."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeGuard, TypeVar

from pydantic import BaseModel
from socialwork_contracts.base import DomainEvent

from servicekit.auth import Principal
from servicekit.db import Connection
from servicekit.eventstore import (
    AppendResult,
    ConcurrencyConflict,
    EventMetadata,
    EventStore,
    LoadedStream,
    NewEvent,
)
from servicekit.eventstore.records import Decided
from servicekit.eventstore.store import (
    InlineProjection,
    InlineRow,
    InlineStatement,
    InlineStatements,
    command_fingerprint,
)
from servicekit.randomness import random_id

S = TypeVar("S")
C = TypeVar("C", bound=BaseModel)


@dataclass(frozen=True)
class CommandContext:
    """Who sent the command, as part of which request, and when the fact happened."""

    principal: Principal
    correlation_id: str
    occurred_at: dt.datetime
    command_id: str | None = None  # client_command_id(...) or a system id (`pm:…`, `overdue:…`)
    causation_id: str | None = None  # the event that caused it, for a process manager
    # False when occurred_at is the time the command arrived (the caller stated none): a retry
    # arrives later but is the same command, so that time stays out of the fingerprint.
    occurred_at_stated: bool = True


def client_command_id(subject: str, route: str, key: str | None) -> str | None:
    """The stored id of a client's command: its `Idempotency-Key` scoped by caller and route.

    The `client:` prefix keeps client keys apart from system ids (`pm:…`, `overdue:…`), and the
    scope keeps one caller's or one route's key from answering another's. `:` in the subject is
    escaped so that it cannot shift the boundary between subject, route and key.
    """
    if key is None:
        return None
    scope = subject.replace("%", "%25").replace(":", "%3A")
    return f"client:{scope}:{route}:{key}"


def fingerprint(command: BaseModel, context: CommandContext) -> str:
    """The whole command as sent, occurrence time included: a retry must repeat all of it."""
    occurred_at = context.occurred_at.astimezone(dt.UTC).isoformat()
    return command_fingerprint(
        {
            "type": type(command).__name__,
            "body": command.model_dump(mode="json"),
            "occurred_at": occurred_at if context.occurred_at_stated else None,
        }
    )


@dataclass(frozen=True)
class Outcome:
    """The result of a command: the append, and the stream's state after it."""

    result: AppendResult
    state: Any


def fold(evolve: Callable[[S | None, DomainEvent], S], events: Sequence[DomainEvent]) -> S | None:
    state: S | None = None
    for event in events:
        state = evolve(state, event)
    return state


@dataclass(frozen=True)
class CommandSteps(Generic[S, C]):
    """One command and the functions of its four steps (`execute` runs them)."""

    stream_id: str
    command: C
    context: CommandContext
    evolve: Callable[[S | None, DomainEvent], S]
    decide: Callable[[S | None, C], Sequence[DomainEvent]]
    authorize: Callable[[S | None], None]
    expected_version: int | None = None
    inline: Callable[[S], InlineProjection] | None = None
    opens: bool = False  # it starts its stream: a batch need not read it (CommandHandler.opens)

    def command_hash(self) -> str | None:
        # The fingerprint tells a retry from a reused key: without a command id nothing keeps it.
        return None if self.context.command_id is None else fingerprint(self.command, self.context)

    def decision(self, loaded: LoadedStream) -> tuple[list[NewEvent], S | None]:
        """Fold, authorise, check the expected version, decide: the new events and state."""
        state = fold(self.evolve, [r.load() for r in loaded.events])
        self.authorize(state)
        version = loaded.version
        if self.expected_version is not None and self.expected_version != version:
            raise ConcurrencyConflict(self.stream_id, self.expected_version, version)
        events = self.decide(state, self.command)
        context = self.context
        metadata = EventMetadata(
            actor=context.principal.subject,
            actor_role=context.principal.role.value,
            occurred_at=context.occurred_at,
            correlation_id=context.correlation_id,
            causation_id=context.causation_id or context.command_id or random_id(),
        )
        new_state = state
        for event in events:
            new_state = self.evolve(new_state, event)
        return [NewEvent(e, metadata) for e in events], new_state

    def projection(self, state: S | None) -> InlineProjection | None:
        return self.inline(state) if self.inline is not None and state is not None else None


async def execute(
    store: EventStore, steps: CommandSteps[Any, Any], *, conn: Connection | None = None
) -> Outcome:
    """Run one command. A retry (same id, same command) returns the first result, even to a
    caller who would no longer be authorised; the same id with another command is refused.

    With `conn`, the command runs inside the caller's transaction (a process manager reacting to
    another service's event commits its command with its consumer checkpoint).
    """
    command_hash = steps.command_hash()
    # A retry is recognised before authorisation: the caller was allowed when the command was
    # accepted, and the state may have left their scope since. A client id is scoped by caller
    # (client_command_id), so no one else can reach this answer.
    command_id = steps.context.command_id
    loaded = await store.load(
        steps.stream_id, command_id=command_id, command_hash=command_hash, conn=conn
    )
    if loaded.previous is not None:
        return Outcome(loaded.previous, fold(steps.evolve, [r.load() for r in loaded.events]))
    events, new_state = steps.decision(loaded)
    result = await store.append(
        steps.stream_id,
        events,
        expected_version=loaded.version,
        command_id=command_id,
        command_hash=command_hash,
        inline=steps.projection(new_state),
        conn=conn,
        loaded=loaded,
    )
    if result.duplicate:
        # A concurrent retry won the race; report the first result and the state it produced.
        reread = await store.read_stream(steps.stream_id, conn=conn)
        return Outcome(result, fold(steps.evolve, [r.load() for r in reread]))
    return Outcome(result, new_state)


# What `execute_together` answers for each command: its outcome, the exception that refused it
# (nothing of it written), or None: run it alone with `execute` (its stream was stale, or its
# command id known, or it refused a command that opens its stream: the single path reads the
# first answer or the stream, or runs it again later).
Together = Outcome | Exception | None


async def execute_together(
    store: EventStore, conn: Connection, group: Sequence[CommandSteps[Any, Any]]
) -> list[Together]:
    """Run commands on distinct streams and distinct command ids in a few round trips in the
    caller's transaction (issue 12): one read of every stream but those the commands open, one
    insert of every decision's events, command records and `InlineRow` projections, then each
    other inline projection. A statement that fails raises (an opened stream or a command id
    that existed after all among them): the caller rolls back to before this call and runs
    each command alone."""
    hashes = [steps.command_hash() for steps in group]
    loaded = await _streams(store, conn, group)
    answers: list[Together] = []
    decided: list[tuple[int, Decided, Any]] = []
    for i, (steps, stream) in enumerate(zip(group, loaded, strict=True)):
        if stream.known or stream.stale:
            answers.append(None)
            continue
        try:
            events, new_state = steps.decision(stream)
        except Exception as exc:  # a refusal, decided before anything of it was written
            # An opening command's refusal was decided without reading its stream: run alone,
            # it answers as its stream and command id say (a duplicate, a reused key).
            answers.append(None if steps.opens else exc)
            continue
        answers.append(None)
        decided.append((i, Decided(stream, events, steps.context.command_id, hashes[i]), new_state))
    if not decided:
        return answers
    projections = [_together(group[i].projection(state)) for i, _, state in decided]
    rows: dict[str, list[Any]] = {}  # written by the events' insert (one execution for all)
    for (_, d, _), projection in zip(decided, projections, strict=True):
        if isinstance(projection, InlineRow) and d.events:
            rows.setdefault(projection.statement, []).append(projection.row)
    results = await store.append_many(conn, [d for _, d, _ in decided], rows)
    for (i, _, new_state), result in zip(decided, results, strict=True):
        answers[i] = Outcome(result, new_state)
    await _project_together(conn, projections, results)
    return answers


async def _streams(
    store: EventStore, conn: Connection, group: Sequence[CommandSteps[Any, Any]]
) -> list[LoadedStream]:
    """Each command's stream: read by `load_many`, or, for a command that opens its stream,
    taken as empty (the insert's unique constraints find it if it was not)."""
    read = [s for s in group if not s.opens]
    found = iter(
        await store.load_many(conn, [(s.stream_id, s.context.command_id) for s in read])
        if read
        else ()
    )
    return [
        LoadedStream(s.stream_id, [], in_transaction=True) if s.opens else next(found)
        for s in group
    ]


async def _project_together(
    conn: Connection,
    projections: Sequence[InlineProjection | None],
    results: Sequence[AppendResult],
) -> None:
    """The projections `append_many` did not write (an `InlineRow` it did), each statement sent
    once for all of them where their order allows."""
    statements: dict[str, list[Sequence[Any]]] = {}
    for projection, result in zip(projections, results, strict=True):
        if isinstance(projection, InlineRow) or not result.events:
            continue
        if _in_order(projection, statements):
            for each in projection.statements:
                statements.setdefault(each.statement, []).append(each.arguments(result.events))
        elif projection is not None:
            await projection(conn, result.events)
    for statement, rows in statements.items():  # one round trip per statement (issue 12)
        await conn.executemany(statement, rows)


def _together(projection: InlineProjection | None) -> InlineProjection | None:
    """A one-statement projection as a projection of statements, sent with the group's."""
    if isinstance(projection, InlineStatement):
        return InlineStatements((projection,))
    return projection


def _in_order(
    projection: InlineProjection | None, sent: dict[str, Any]
) -> TypeGuard[InlineStatements]:
    """Whether a projection's statements can go with the group's: each is sent once for all, in
    the order first met (new ones last), so a projection whose statements would come in another
    order, or one sending a statement twice, runs by itself, its rows apart from the others'."""
    if not isinstance(projection, InlineStatements):
        return False
    texts = [s.statement for s in projection.statements]
    places = [list(sent).index(t) if t in sent else len(sent) for t in texts]
    return len(set(texts)) == len(texts) and places == sorted(places)
