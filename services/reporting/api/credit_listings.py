"""GET /reports/credit-listings: agencies on each credit list, with the 2-year escalation date."""

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
    ("uscc", "统一社会信用代码"),
    ("agency_name", "机构名称"),
    ("unit_name", "统计单位"),
    ("list", "名录"),
    ("ground", "列入事由"),
    ("listed_on", "列入日期"),
    ("removed_on", "移出日期"),
    ("removal_reason", "移出原因"),
    ("escalation_due_on", "满2年转严重名单日期"),
)


@router.get(
    "/reports/credit-listings", summary="信用名录 Agencies on credit lists", responses=TABLE
)
async def credit_listings(
    runtime: CurrentRuntime,
    reports: Reports,
    caller: Caller,
    as_of: AsOf = None,
    recorded_until: RecordedUntil = None,
    include_removed: bool = False,
    unit: Unit = None,
    fmt: Fmt = "json",
) -> Response:
    scope = readable_unit(caller, unit, "read credit lists")
    day = as_of or today()
    query = query_of(
        "credit_listings", day, recorded_until, scope=scope, include_removed=include_removed
    )
    return await reply(reports, runtime, query, fmt, Table(COLUMNS, f"信用名录-{day}", "信用名录"))
