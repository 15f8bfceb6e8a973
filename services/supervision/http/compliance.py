"""合规日历: what an agency owes, by when, and what is late — one agency, or a unit's agencies."""

# No `from __future__ import annotations`: FastAPI reads these route annotations at runtime.
import datetime as dt
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query
from socialwork_contracts.periods import local_date

from servicekit.db import Connection
from servicekit.dependencies import Caller, CurrentRuntime
from servicekit.eventstore import EventStore
from servicekit.http import Problem
from services.supervision import readmodel
from services.supervision.authz import readable_unit
from services.supervision.domain import calendar
from services.supervision.domain.credit_file import CreditFile
from services.supervision.handlers import evolve_file
from services.supervision.http.credit_files import end_of, readable_agency

router = APIRouter(tags=["queries"])

# The compliance calendar's day: within the years the inspection rules can be applied to.
CalendarDay = Annotated[
    dt.date | None, Query(description="as of this local day (default today), 1991–2100")
]


def calendar_day(day: dt.date | None) -> dt.date:
    """The day asked for (422 outside 1991–2100), or today."""
    if day is not None and not 1991 <= day.year <= 2100:
        raise Problem(422, "invalid_value", "日期超出范围 (date out of range)", "1991–2100")
    return day or local_date(dt.datetime.now(dt.UTC))


async def calendar_of(
    store: EventStore, conn: Connection, uscc: str, registered_on: dt.date, day: dt.date
) -> list[dict[str, Any]]:
    """The agency's items from its credit file as it stood at the end of `day`."""
    file: CreditFile | None = None
    end = end_of(day)
    for r in await store.read_stream(uscc, conn=conn):
        if r.occurred_at < end:
            file = evolve_file(file, r.load())
    stays = [calendar.Stay(**s) for s in await readmodel.stays_of(conn, uscc)]
    items = calendar.compliance_calendar(file, uscc, registered_on, stays, day)
    return [asdict(i) for i in items]


@router.get(
    "/compliance-calendar/{uscc}", summary="合规日历 What an agency owes, by when, what is late"
)
async def agency_calendar(
    runtime: CurrentRuntime, caller: Caller, uscc: str, as_of: CalendarDay = None
) -> dict[str, Any]:
    agency = await readable_agency(runtime, caller, uscc)
    if agency is None:
        raise Problem(404, "agency_not_found", "机构不存在 (agency not found)", uscc)
    day = calendar_day(as_of)
    async with runtime.pool.acquire() as conn:
        items = await calendar_of(runtime.store, conn, uscc, agency.registered_on, day)
    return {"uscc": uscc, "name": agency.name, "as_of": day, "items": items}


@router.get(
    "/compliance-calendar",
    summary="合规日历（统计单位） A unit's agencies: what is due and what is late",
)
async def unit_calendar(
    runtime: CurrentRuntime,
    caller: Caller,
    reporting_unit: str | None = None,
    as_of: CalendarDay = None,
) -> dict[str, Any]:
    unit = readable_unit(caller, reporting_unit, "read compliance calendars") or reporting_unit
    if unit is None:
        raise Problem(
            422, "unit_required", "请指定统计单位 (reporting_unit required)", "reporting_unit"
        )
    day = calendar_day(as_of)
    rows = []
    async with runtime.pool.acquire() as conn:
        for agency in await readmodel.agencies_in_unit(conn, unit):
            uscc, name = agency["uscc"], agency["name"]
            found = await calendar_of(runtime.store, conn, uscc, agency["registered_on"], day)
            rows += [{"uscc": uscc, "name": name, **item} for item in found]
    rows.sort(key=lambda r: (r["due_on"], r["uscc"], r["kind"]))
    late = sum(r["status"] == "late" for r in rows)
    return {"reporting_unit": unit, "as_of": day, "late": late, "items": rows}
