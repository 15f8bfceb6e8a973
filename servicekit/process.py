"""Process managers: a service's own command, caused by another service's event.

The command runs in the consumer's batch transaction with a command id derived from the event
id, so a redelivered or republished event changes nothing. Every decision is recorded under that
id, refusals included (the target is already in the wanted state, or unknown here): a replay of
the cause, e.g. when the view is rebuilt, answers from the record and never decides again
against today's state. A refusal is logged, never a dead letter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import structlog
from pydantic import BaseModel
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.envelope import CloudEvent

from servicekit.auth import Principal, Role
from servicekit.commands import CommandContext, Outcome, execute, fingerprint
from servicekit.db import Connection
from servicekit.decisions import DomainRejected, InvalidTransition
from servicekit.eventstore import ConcurrencyConflict, EventStore
from servicekit.eventstore.store import InlineProjection

S = TypeVar("S")
CONFLICT_RETRIES = 3
log = structlog.get_logger()


def system_actor(process: str) -> Principal:
    return Principal(f"system:{process}", Role.SYSTEM)


async def react(
    store: EventStore,
    conn: Connection,
    cause: CloudEvent,
    *,
    process: str,
    stream_id: str,
    command: BaseModel,
    evolve: Callable[[S | None, DomainEvent], S],
    decide: Callable[[S | None, Any], Sequence[DomainEvent]],
    inline: Callable[[S], InlineProjection] | None = None,
) -> Outcome | None:
    """Run `command` because of `cause`; None when the domain declines it (now or before)."""
    command_id = f"pm:{process}:{cause.id}"
    context = CommandContext(
        principal=system_actor(process),
        correlation_id=cause.correlationid,
        occurred_at=cause.time,
        command_id=command_id,
        causation_id=cause.id,
    )
    previous = await store.find_command(command_id, None, conn=conn)
    if previous is not None and previous.refusal is not None:
        return None  # decided before: declined
    for attempt in range(1, CONFLICT_RETRIES + 1):
        try:
            return await execute(
                store,
                stream_id=stream_id,
                command=command,
                context=context,
                evolve=evolve,
                decide=decide,
                authorize=lambda _state: None,  # the cause was authorised where it was decided
                inline=inline,
                conn=conn,
            )
        except (DomainRejected, InvalidTransition) as exc:
            log.info("process.declined", process=process, cause=cause.id, reason=str(exc))
            await store.record_refusal(
                conn, command_id, fingerprint(command, context), stream_id, str(exc)
            )
            return None
        except ConcurrencyConflict:
            # A user's command on the same stream won the race; decide again on the new state.
            if attempt == CONFLICT_RETRIES:
                raise
            log.info("process.retry_after_conflict", process=process, attempt=attempt)
    return None
