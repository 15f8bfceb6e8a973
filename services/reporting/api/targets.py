"""GET /reports/targets: the target tracker (guidance §3), citywide for every reader."""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
from fastapi import APIRouter, Response

from servicekit.auth import require_role
from servicekit.dependencies import Caller, CurrentRuntime
from services.reporting.api.common import (
    TABLE,
    AsOf,
    Fmt,
    RecordedUntil,
    Reports,
    Table,
    query_of,
    reply,
    today,
)
from services.reporting.authz import READERS

router = APIRouter(tags=["reports"])

COLUMNS = (
    ("id", "指标编号"),
    ("title", "指标"),
    ("status", "状态"),
    ("required", "要求数"),
    ("achieved", "已完成数"),
    ("missing", "缺口（何处）"),
)


@router.get("/reports/targets", summary="目标进度 Target tracker (§3)", responses=TABLE)
async def target_tracker(
    runtime: CurrentRuntime,
    reports: Reports,
    caller: Caller,
    as_of: AsOf = None,
    recorded_until: RecordedUntil = None,
    fmt: Fmt = "json",
) -> Response:
    require_role(caller, READERS, "read the target tracker")
    day = as_of or today()
    query = query_of("targets", day, recorded_until)
    return await reply(reports, runtime, query, fmt, Table(COLUMNS, f"目标进度-{day}", "目标进度"))
