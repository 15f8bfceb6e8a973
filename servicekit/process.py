"""Process managers: a service's own command, caused by another service's event.

The command runs in the consumer's batch transaction with a command id derived from the event
id, so a redelivered or republished event changes nothing. Every decision is recorded under that
id, refusals included (the target is already in the wanted state, or unknown here): a replay of
the cause, e.g. when the view is rebuilt, answers from the record and never decides again
against today's state. A refusal is logged, never a dead letter.
"""

from __future__ import annotations

import structlog
from pydantic import BaseModel
from socialwork_contracts.envelope import CloudEvent

from servicekit.auth import Principal, Role
from servicekit.command_table import CommandTable, handler_of, run_command
from servicekit.commands import CommandContext, Outcome, fingerprint
from servicekit.db import Connection
from servicekit.decisions import DomainRejected, InvalidTransition
from servicekit.eventstore import ConcurrencyConflict, EventStore

CONFLICT_RETRIES = 3
log = structlog.get_logger()


def system_actor(process: str) -> Principal:
    return Principal(f"system:{process}", Role.SYSTEM)


async def react(
    commands: CommandTable,
    store: EventStore,
    conn: Connection,
    cause: CloudEvent,
    *,
    process: str,
    command: BaseModel,
) -> Outcome | None:
    """Run `command` because of `cause`, as the service's table says (its locks, situation and
    authorisation of the system actor included); None when the domain declines it (now or
    before)."""
    stream_id = handler_of(commands, type(command)).stream_id(command)
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
            return await run_command(commands, store, conn, command, context)
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
