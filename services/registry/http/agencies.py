"""Agency queries: the list, one agency, its history as recorded at a time."""

# No `from __future__ import annotations`: FastAPI reads these route annotations at runtime.
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from servicekit.auth import require_role
from servicekit.dependencies import Caller, CurrentRuntime
from servicekit.history import audit_entry
from servicekit.http import Problem
from services.registry import readmodel
from services.registry.authz import READERS
from services.registry.domain.agency import Agency
from services.registry.handlers import evolve_agency

router = APIRouter(tags=["queries"])


def _not_found(uscc: str) -> Problem:
    return Problem(
        404,
        "agency_not_found",
        "机构不存在 (agency not found)",
        f"no agency with credit code {uscc}",
    )


@router.get("/agencies", summary="查询机构 List agencies")
async def list_agencies(
    runtime: CurrentRuntime,
    caller: Caller,
    reporting_unit: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    service_field: str | None = None,
    target_group: str | None = None,
    priority: bool | None = None,
    name_contains: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    require_role(caller, READERS, "read agencies")
    async with runtime.pool.acquire() as conn:
        total, items = await readmodel.find_agencies(
            conn,
            reporting_unit=reporting_unit,
            kind=kind,
            status=status,
            service_field=service_field,
            target_group=target_group,
            priority=priority,
            name_contains=name_contains,
            limit=limit,
            offset=offset,
        )
    return {"total": total, "limit": limit, "offset": offset, "items": items}


@router.get("/agencies/{uscc}", summary="机构详情 One agency")
async def get_agency(
    runtime: CurrentRuntime, response: Response, caller: Caller, uscc: str
) -> dict[str, Any]:
    require_role(caller, READERS, "read agencies")
    async with runtime.pool.acquire() as conn:
        agency = await readmodel.get_agency(conn, uscc)
    if agency is None:
        raise _not_found(uscc)
    response.headers["ETag"] = str(agency["version"])
    return agency


@router.get("/agencies/{uscc}/history", summary="机构事件历史 History")
async def agency_history(
    runtime: CurrentRuntime, caller: Caller, uscc: str, recorded_until: dt.datetime | None = None
) -> dict[str, Any]:
    require_role(caller, READERS, "read agencies")
    events = await runtime.store.read_stream(uscc, recorded_until=recorded_until)
    if not events:
        raise _not_found(uscc)
    state: Agency | None = None
    for e in events:
        state = evolve_agency(state, e.load())
    return {"uscc": uscc, "state": state, "events": [audit_entry(e) for e in events]}
