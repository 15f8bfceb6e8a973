"""Rectification casework: what is due and what is overdue, in the reader's unit."""

# No `from __future__ import annotations`: FastAPI reads these route annotations at runtime.
import datetime as dt
from typing import Any

from fastapi import APIRouter
from socialwork_contracts.periods import local_date

from servicekit.dependencies import Caller, CurrentRuntime
from services.supervision import readmodel
from services.supervision.authz import readable_unit

router = APIRouter(tags=["queries"])


@router.get("/rectifications", summary="整改 Due and overdue")
async def rectifications(
    runtime: CurrentRuntime,
    caller: Caller,
    as_of: dt.date | None = None,
    reporting_unit: str | None = None,
) -> dict[str, Any]:
    unit = readable_unit(caller, reporting_unit, "read rectifications")
    day = as_of or local_date(dt.datetime.now(dt.UTC))
    async with runtime.pool.acquire() as conn:
        found = await readmodel.rectifications_by_state(conn, day, unit)
    return {"as_of": day, **found}
