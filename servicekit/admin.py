"""Operator endpoints every service has: dead letters, parked records, rebuilding a consumer.

City administrators only. A re-drive delivers the dead-lettered record again to the consumer
that failed, once per request, through the same stream-order checks; it never writes to the
shared event topics, and a letter re-driven successfully is not re-driven again. Fix the cause
first.
"""

# No `from __future__ import annotations`: FastAPI reads these route annotations at runtime.
import asyncio
from typing import Any

import structlog
from fastapi import APIRouter

from servicekit.auth import Role, require_role
from servicekit.consumer import AlreadyRedriven, DeadLetterNotFound, EventConsumer, Refused
from servicekit.dependencies import Caller, CurrentRuntime
from servicekit.http import Problem
from servicekit.runtime import Runtime

ADMINS = frozenset({Role.CITY_ADMIN})
CATCH_UP_SECONDS = 1800.0
log = structlog.get_logger()


router = APIRouter(prefix="/admin", tags=["operations"])


@router.get("/dead-letters", summary="死信 Dead letters of this service's consumers")
async def dead_letters(
    runtime: CurrentRuntime, caller: Caller, include_redriven: bool = False, limit: int = 100
) -> list[dict[str, Any]]:
    require_role(caller, ADMINS, "read dead letters")
    rows = await runtime.pool.fetch(
        f'SELECT id, consumer, topic, partition, "offset", key, reason, recorded_at, '
        "published_at, redriven_at, redrive_outcome, "
        "convert_from(substring(value from 1 for 300), 'UTF8') AS preview "
        f"FROM {runtime.store.schema}.dead_letters "
        "WHERE $1 OR redriven_at IS NULL OR redrive_outcome LIKE 'failed%' "
        "ORDER BY id LIMIT $2",
        include_redriven,
        min(max(limit, 1), 1000),
    )
    return [dict(r) for r in rows]


@router.post("/dead-letters/{letter_id}/redrive", summary="重新投递 Re-drive one dead letter")
async def redrive(runtime: CurrentRuntime, caller: Caller, letter_id: int) -> dict[str, Any]:
    require_role(caller, ADMINS, "re-drive dead letters")
    owner = await runtime.pool.fetchval(
        f"SELECT consumer FROM {runtime.store.schema}.dead_letters WHERE id = $1", letter_id
    )
    consumer = _consumer(runtime, owner) if owner is not None else None
    if consumer is None:
        raise Problem(404, "dead_letter_not_found", "死信不存在", f"no dead letter {letter_id}")
    try:
        outcome = await consumer.redrive(letter_id)
    except DeadLetterNotFound as exc:
        raise Problem(404, "dead_letter_not_found", "死信不存在", str(exc)) from exc
    except AlreadyRedriven as exc:
        raise Problem(
            409,
            "already_redriven",
            "该死信已成功重新投递 (already re-driven)",
            f"dead letter {letter_id} was re-driven before with outcome {exc}",
        ) from exc
    failed = isinstance(outcome, Refused)
    return {
        "id": letter_id,
        "consumer": consumer.name,
        "outcome": "failed" if failed else outcome,
        "reason": outcome.reason if isinstance(outcome, Refused) else None,
    }


@router.get("/parked", summary="暂存 Records and events set aside, with the reason")
async def parked(runtime: CurrentRuntime, caller: Caller, limit: int = 100) -> dict[str, Any]:
    require_role(caller, ADMINS, "read parked records")
    s, bound = runtime.store.schema, min(max(limit, 1), 1000)
    records = await runtime.pool.fetch(
        f'SELECT id, consumer, topic, partition, "offset", stream_id, stream_version, reason, '
        f"recorded_at FROM {s}.parked_records ORDER BY id LIMIT $1",
        bound,
    )
    events = await runtime.pool.fetch(
        f"SELECT position, event_id, stream_id, topic, reason, recorded_at "
        f"FROM {s}.parked_events ORDER BY position LIMIT $1",
        bound,
    )
    return {
        "consumer_records": [dict(r) for r in records],
        "unpublished_events": [dict(r) for r in events],
    }


@router.post(
    "/consumers/{name}/rebuild",
    summary="重建 Rebuild a consumer's view from offset 0",
    status_code=202,
)
async def rebuild(runtime: CurrentRuntime, caller: Caller, name: str) -> dict[str, Any]:
    require_role(caller, ADMINS, "rebuild views")
    consumer = _consumer(runtime, name)
    if consumer is None:
        known = [c.name for c in runtime.consumers]
        raise Problem(404, "consumer_not_found", "消费者不存在", f"{name}; known: {known}")
    rebuilder = runtime.rebuilders.get(name)
    if rebuilder is not None:
        runtime.tasks.append(asyncio.create_task(_logged(name, rebuilder())))
        return {"consumer": name, "status": "building a new generation; switch when caught up"}
    # Rebuilt in place: every instance rewinds (the epoch), and this one is not ready
    # until it has caught up, so no one reads a half-built view from it.
    runtime.busy = True
    try:
        await consumer.reset()
    except BaseException:
        runtime.busy = False
        raise
    runtime.tasks.append(asyncio.create_task(_ready_when_caught_up(runtime, consumer)))
    return {"consumer": name, "status": "rebuilding from offset 0"}


def _consumer(runtime: Runtime, name: str) -> EventConsumer | None:
    return next((c for c in runtime.consumers if c.name == name), None)


async def _logged(name: str, work: Any) -> None:
    try:
        await work
        log.info("admin.rebuilt", consumer=name)
    except Exception:
        log.exception("admin.rebuild_failed", consumer=name)


async def _ready_when_caught_up(runtime: Runtime, consumer: EventConsumer) -> None:
    try:
        caught_up = await consumer.wait_caught_up(CATCH_UP_SECONDS)
        log.info("admin.rebuilt", consumer=consumer.name, caught_up=caught_up)
    except Exception:
        log.exception("admin.rebuild_wait_failed", consumer=consumer.name)
    finally:
        runtime.busy = False
