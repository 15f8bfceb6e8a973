"""GET /reports/half-year: the mid-year or year-end report (§6.3), per unit and for the city."""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
from typing import Annotated

from fastapi import APIRouter, Query, Response

from servicekit.dependencies import Caller, CurrentRuntime
from services.reporting.api.common import (
    TABLE_AND_UNIT,
    Fmt,
    RecordedUntil,
    Reports,
    Table,
    Unit,
    check_unit,
    query_of,
    reply,
)
from services.reporting.authz import readable_unit
from services.reporting.domain.periods import Half, report_period
from services.reporting.views import HALF_COLUMNS, half_year_title

router = APIRouter(tags=["reports"])


@router.get(
    "/reports/half-year",
    summary="年中/年终报告 Mid-year or year-end (§6.3)",
    responses=TABLE_AND_UNIT,
)
async def half_year(
    runtime: CurrentRuntime,
    reports: Reports,
    caller: Caller,
    year: Annotated[int, Query(ge=2000, le=2100)],
    half: Half = "mid_year",
    unit: Unit = None,
    recorded_until: RecordedUntil = None,
    fmt: Fmt = "json",
) -> Response:
    scope = readable_unit(caller, unit, "read half-year reports")
    check_unit(scope)
    end = report_period(year, half).end
    query = query_of("half_year", end, recorded_until, scope=scope, year=year, half=half)
    half_zh, title = half_year_title(year, half)
    table = Table(HALF_COLUMNS, f"{year}年{half_zh}报告-{end.isoformat()}", title)
    return await reply(reports, runtime, query, fmt, table)
