"""GET /reports/coverage: agencies by priority target group and service field, by unit."""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
from fastapi import APIRouter, Response

from servicekit.dependencies import Caller, CurrentRuntime
from services.reporting.api.common import (
    TABLE_AND_UNIT,
    AsOf,
    Fmt,
    RecordedUntil,
    Reports,
    Table,
    Unit,
    check_unit,
    query_of,
    reply,
    today,
)
from services.reporting.authz import readable_unit

router = APIRouter(tags=["reports"])

COLUMNS = (
    ("unit_name", "统计单位"),
    ("dimension_name", "维度"),
    ("item_name", "服务对象/服务领域"),
    ("priority", "重点"),
    ("agencies", "机构数"),
)


@router.get(
    "/reports/coverage", summary="重点覆盖 Priority coverage by unit", responses=TABLE_AND_UNIT
)
async def coverage(
    runtime: CurrentRuntime,
    reports: Reports,
    caller: Caller,
    as_of: AsOf = None,
    recorded_until: RecordedUntil = None,
    unit: Unit = None,
    fmt: Fmt = "json",
) -> Response:
    scope = readable_unit(caller, unit, "read coverage")
    check_unit(scope)
    day = as_of or today()
    query = query_of("coverage", day, recorded_until, scope=scope)
    return await reply(reports, runtime, query, fmt, Table(COLUMNS, f"重点覆盖-{day}", "重点覆盖"))
