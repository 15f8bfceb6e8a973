"""GET /agencies and /agencies/{uscc}: each agency's current registration state (live summary)."""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from servicekit.auth import require_role
from servicekit.dependencies import Caller, CurrentRuntime
from servicekit.http import Problem
from services.reporting import readmodel
from services.reporting.api.common import TABLE, Fmt, Unit
from services.reporting.authz import READERS, readable_unit
from services.reporting.domain.periods import LOCAL
from services.reporting.exports import table_response

router = APIRouter(tags=["lists"])

COLUMNS = (
    ("uscc", "统一社会信用代码"),
    ("name", "机构名称"),
    ("kind", "类型"),
    ("reporting_unit", "统计单位"),
    ("status", "登记状态"),
    ("status_since", "状态起始日期"),
    ("registered_on", "登记日期"),
    ("priority", "重点机构"),
)


@router.get("/agencies", summary="机构（当前） Agencies, current state", responses=TABLE)
async def agencies(
    runtime: CurrentRuntime,
    caller: Caller,
    unit: Unit = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 500,
    offset: Annotated[int, Query(ge=0)] = 0,
    fmt: Fmt = "json",
) -> Response:
    scope = readable_unit(caller, unit, "read agencies")
    async with runtime.pool.acquire() as conn:
        generation = await readmodel.current_generation(conn)
        total, items = await readmodel.list_agencies(conn, generation, scope, limit, offset)
    rows = [
        {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in r.items()} for r in items
    ]
    body = {"total": total, "limit": limit, "offset": offset, "items": rows}
    return await table_response(
        fmt,
        body=body,
        rows=rows,
        columns=COLUMNS,
        filename=f"机构-{dt.datetime.now(LOCAL).date().isoformat()}",  # the current state
        title="机构",
    )


@router.get("/agencies/{uscc}", summary="机构（当前） One agency")
async def agency(runtime: CurrentRuntime, caller: Caller, uscc: str) -> dict[str, Any]:
    require_role(caller, READERS, "read agencies")
    async with runtime.pool.acquire() as conn:
        generation = await readmodel.current_generation(conn)
        row = await readmodel.get_agency(conn, generation, uscc)
    if row is None:
        raise Problem(404, "agency_not_found", "机构不存在 (agency not found)", uscc)
    readable_unit(caller, row["reporting_unit"], "read agencies")
    return row
