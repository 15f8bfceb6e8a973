"""The audit trail every service serves: one stream's events with who, when and why.

`GET /streams/{stream_id}/events` — for auditors and city administrators (read everything);
`recorded_until` shows the stream as it had been recorded by then.
"""

# No `from __future__ import annotations`: FastAPI reads these route annotations at runtime.
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from servicekit.auth import Principal, Role, require_role
from servicekit.eventstore import RecordedEvent
from servicekit.http import Problem
from servicekit.runtime import Runtime

AUDIT_READERS = frozenset({Role.CITY_ADMIN, Role.AUDITOR})


def audit_entry(e: RecordedEvent) -> dict[str, Any]:
    """One stored event as the audit trail shows it: the fact, who recorded it, when and why."""
    return {
        "event_id": str(e.event_id),
        "type": f"{e.event_type}.v{e.event_version}",
        "stream_version": e.stream_version,
        "position": e.position,
        "occurred_at": e.occurred_at,
        "recorded_at": e.recorded_at,
        "actor": e.actor,
        "actor_role": e.actor_role,
        "correlation_id": e.correlation_id,
        "causation_id": e.causation_id,
        "data": e.data,
    }


def history_router(
    runtime_of: Callable[[Request], Runtime], principal: Callable[..., Awaitable[Principal]]
) -> APIRouter:
    router = APIRouter(tags=["audit"])
    Caller = Annotated[Principal, Depends(principal)]  # noqa: N806 - a type alias

    @router.get("/streams/{stream_id}/events", summary="审计轨迹 One stream's events")
    async def stream_events(
        request: Request,
        caller: Caller,
        stream_id: str,
        recorded_until: dt.datetime | None = None,
    ) -> dict[str, Any]:
        require_role(caller, AUDIT_READERS, "read the audit trail")
        events = await runtime_of(request).store.read_stream(
            stream_id, recorded_until=recorded_until
        )
        if not events:
            raise Problem(404, "stream_not_found", "没有该对象的记录", f"no events for {stream_id}")
        return {
            "stream_id": stream_id,
            "version": events[-1].stream_version,
            "events": [audit_entry(e) for e in events],
        }

    return router
