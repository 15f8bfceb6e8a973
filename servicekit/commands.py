"""Every command's four steps: load the stream, fold it, decide, append at the expected version."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel
from socialwork_contracts.base import DomainEvent

from servicekit.auth import Principal
from servicekit.db import Connection
from servicekit.eventstore import (
    AppendResult,
    ConcurrencyConflict,
    EventMetadata,
    EventStore,
    NewEvent,
)
from servicekit.eventstore.store import InlineProjection, command_fingerprint

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


async def execute(
    store: EventStore,
    *,
    stream_id: str,
    command: C,
    context: CommandContext,
    evolve: Callable[[S | None, DomainEvent], S],
    decide: Callable[[S | None, C], Sequence[DomainEvent]],
    authorize: Callable[[S | None], None],
    expected_version: int | None = None,
    inline: Callable[[S], InlineProjection] | None = None,
    conn: Connection | None = None,
) -> Outcome:
    """Run one command. A retry (same id, same command) returns the first result, even to a
    caller who would no longer be authorised; the same id with another command is refused.

    With `conn`, the command runs inside the caller's transaction (a process manager reacting to
    another service's event commits its command with its consumer checkpoint).
    """
    # The fingerprint tells a retry from a reused key: without a command id nothing keeps it.
    command_hash = None if context.command_id is None else fingerprint(command, context)
    # A retry is recognised before authorisation: the caller was allowed when the command was
    # accepted, and the state may have left their scope since. A client id is scoped by caller
    # (client_command_id), so no one else can reach this answer.
    loaded = await store.load(
        stream_id, command_id=context.command_id, command_hash=command_hash, conn=conn
    )
    state = fold(evolve, [r.load() for r in loaded.events])
    version = loaded.version
    if loaded.previous is not None:
        return Outcome(loaded.previous, state)
    authorize(state)
    if expected_version is not None and expected_version != version:
        raise ConcurrencyConflict(stream_id, expected_version, version)
    events = decide(state, command)
    causation = context.causation_id or context.command_id or str(uuid.uuid4())
    metadata = EventMetadata(
        actor=context.principal.subject,
        actor_role=context.principal.role.value,
        occurred_at=context.occurred_at,
        correlation_id=context.correlation_id,
        causation_id=causation,
    )
    new_state = state
    for event in events:
        new_state = evolve(new_state, event)
    result = await store.append(
        stream_id,
        [NewEvent(e, metadata) for e in events],
        expected_version=version,
        command_id=context.command_id,
        command_hash=command_hash,
        inline=inline(new_state) if inline is not None and new_state is not None else None,
        conn=conn,
        loaded=loaded,
    )
    if result.duplicate:
        # A concurrent retry won the race; report the first result and the state it produced.
        reread = await store.read_stream(stream_id, conn=conn)
        return Outcome(result, fold(evolve, [r.load() for r in reread]))
    return Outcome(result, new_state)
