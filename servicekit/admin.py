"""Operator endpoints every service has: inspect and re-drive dead letters, rebuild a consumer.

City administrators only. Re-driving publishes the dead-lettered record again, with its original
key, to its original topic: consumers that applied it drop it by event id, and the one that gave
up tries again (a failed apply left no processed mark). Fix the cause first.
"""

# No `from __future__ import annotations`: FastAPI reads these route annotations at runtime.
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from socialwork_contracts.envelope import CONTENT_TYPE

from servicekit.auth import Principal, Role, require_role
from servicekit.http import Problem
from servicekit.runtime import Runtime

ADMINS = frozenset({Role.CITY_ADMIN})


def admin_router(
    runtime_of: Callable[[Request], Runtime], principal: Callable[..., Principal]
) -> APIRouter:
    router = APIRouter(prefix="/admin", tags=["operations"])
    Caller = Annotated[Principal, Depends(principal)]  # noqa: N806 - a type alias

    @router.get("/dead-letters", summary="死信 Dead letters of this service's consumers")
    async def dead_letters(
        request: Request, caller: Caller, include_redriven: bool = False, limit: int = 100
    ) -> list[dict[str, Any]]:
        require_role(caller, ADMINS, "read dead letters")
        runtime = runtime_of(request)
        rows = await runtime.pool.fetch(
            f'SELECT id, consumer, topic, partition, "offset", key, reason, recorded_at, '
            f"redriven_at, convert_from(substring(value from 1 for 300), 'UTF8') AS preview "
            f"FROM {runtime.store.schema}.dead_letters "
            "WHERE $1 OR redriven_at IS NULL ORDER BY id LIMIT $2",
            include_redriven,
            min(max(limit, 1), 1000),
        )
        return [dict(r) for r in rows]

    @router.post("/dead-letters/{letter_id}/redrive", summary="重新投递 Re-drive one dead letter")
    async def redrive(request: Request, caller: Caller, letter_id: int) -> dict[str, Any]:
        require_role(caller, ADMINS, "re-drive dead letters")
        runtime = runtime_of(request)
        schema = runtime.store.schema
        row = await runtime.pool.fetchrow(
            f"SELECT topic, key, value FROM {schema}.dead_letters WHERE id = $1", letter_id
        )
        if row is None:
            raise Problem(404, "dead_letter_not_found", "死信不存在", f"no dead letter {letter_id}")
        sent = await runtime.producer.send_and_wait(
            row["topic"],
            value=row["value"],
            key=row["key"].encode() if row["key"] is not None else None,
            headers=[
                ("content-type", CONTENT_TYPE.encode()),
                ("redriven_from", str(letter_id).encode()),
            ],
        )
        await runtime.pool.execute(
            f"UPDATE {schema}.dead_letters SET redriven_at = clock_timestamp() WHERE id = $1",
            letter_id,
        )
        return {
            "id": letter_id,
            "topic": row["topic"],
            "partition": sent.partition,
            "offset": sent.offset,
        }

    @router.post(
        "/consumers/{name}/rebuild", summary="重建 Rebuild a consumer's view from offset 0"
    )
    async def rebuild(request: Request, caller: Caller, name: str) -> dict[str, Any]:
        require_role(caller, ADMINS, "rebuild views")
        runtime = runtime_of(request)
        consumer = next((c for c in runtime.consumers if c.projection.name == name), None)
        if consumer is None:
            known = [c.projection.name for c in runtime.consumers]
            raise Problem(404, "consumer_not_found", "消费者不存在", f"{name}; known: {known}")
        runtime.busy = True  # readiness is false while the view is emptied and reset
        try:
            await consumer.reset()
        finally:
            runtime.busy = False
        return {"consumer": name, "status": "rebuilding from offset 0"}

    return router
