"""The credit lists (public: every role reads them) and what the clock will do to them soon."""

# No `from __future__ import annotations`: FastAPI reads these route annotations at runtime.
import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from socialwork_contracts.periods import local_date

from servicekit.auth import require_role
from servicekit.dependencies import Caller, CurrentRuntime
from services.supervision import readmodel
from services.supervision.authz import LIST_READERS

router = APIRouter(tags=["queries"])


@router.get("/credit-lists/{credit_list}", summary="名录 Agencies listed")
async def listed(
    runtime: CurrentRuntime,
    caller: Caller,
    credit_list: Literal["abnormal", "serious"],
    as_of: dt.date | None = None,
    reporting_unit: str | None = None,
) -> dict[str, Any]:
    require_role(caller, LIST_READERS, "read credit lists")
    day = as_of or local_date(dt.datetime.now(dt.UTC))
    async with runtime.pool.acquire() as conn:
        items = await readmodel.listed_agencies(conn, credit_list, day, reporting_unit)
    return {"list": credit_list, "as_of": day, "total": len(items), "items": items}


@router.get("/credit-lists-coming", summary="即将自动移出与转入 Coming clock events")
async def coming(
    runtime: CurrentRuntime,
    caller: Caller,
    as_of: dt.date | None = None,
    within_days: Annotated[int, Query(ge=1, le=3660)] = 90,
) -> dict[str, Any]:
    require_role(caller, LIST_READERS, "read credit lists")
    day = as_of or local_date(dt.datetime.now(dt.UTC))
    until = day + dt.timedelta(days=within_days)
    async with runtime.pool.acquire() as conn:
        items = await readmodel.coming_clock_events(conn, day, until)
    return {"as_of": day, "until": until, "items": items}
