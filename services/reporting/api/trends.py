"""GET /reports/trends: per year, agencies and bases at year end, new ones, graduates (city)."""

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
    ("year", "年份"),
    ("agencies_registered", "年末登记在册机构"),
    ("agencies_new", "当年新登记机构"),
    ("bases_operating", "年末运营基地"),
    ("bases_new", "当年新建基地"),
    ("graduated", "当年出壳机构"),
)


@router.get("/reports/trends", summary="年度趋势 Trends by year (city)", responses=TABLE)
async def trends(
    runtime: CurrentRuntime,
    reports: Reports,
    caller: Caller,
    as_of: AsOf = None,
    recorded_until: RecordedUntil = None,
    fmt: Fmt = "json",
) -> Response:
    require_role(caller, READERS, "read trends")
    day = as_of or today()
    query = query_of("trends", day, recorded_until)
    return await reply(reports, runtime, query, fmt, Table(COLUMNS, f"年度趋势-{day}", "年度趋势"))
