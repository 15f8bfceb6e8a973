"""GET /reports/bases: bases with their one-year local-incubation count (target 2)."""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
from fastapi import APIRouter, Response

from servicekit.dependencies import Caller, CurrentRuntime
from services.reporting.api.common import (
    TABLE,
    AsOf,
    Fmt,
    RecordedUntil,
    Reports,
    Table,
    Unit,
    query_of,
    reply,
    today,
)
from services.reporting.authz import readable_unit

router = APIRouter(tags=["reports"])

COLUMNS = (
    ("base_name", "基地名称"),
    ("unit_name", "统计单位"),
    ("established_on", "建成日期"),
    ("window_end", "一年期满日"),
    ("local_agencies", "一年内孵化本地机构数"),
    ("missing", "缺口"),
    ("status", "状态"),
)


@router.get("/reports/bases", summary="基地孵化进度 Bases and target 2", responses=TABLE)
async def bases(
    runtime: CurrentRuntime,
    reports: Reports,
    caller: Caller,
    as_of: AsOf = None,
    recorded_until: RecordedUntil = None,
    unit: Unit = None,
    fmt: Fmt = "json",
) -> Response:
    scope = readable_unit(caller, unit, "read bases")
    day = as_of or today()
    query = query_of("bases", day, recorded_until, scope=scope)
    return await reply(reports, runtime, query, fmt, Table(COLUMNS, f"基地-{day}", "基地"))
