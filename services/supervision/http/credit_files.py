"""An agency's credit file (诚信档案) as of a day and as recorded by a time, and its printable
report, for the readers `authz.require_file_reader` admits."""

# No `from __future__ import annotations`: FastAPI reads these route annotations at runtime.
import datetime as dt
from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from socialwork_contracts.periods import LOCAL_TIME_ZONE, local_date

from servicekit.auth import Principal
from servicekit.decisions import InvalidTransition
from servicekit.dependencies import Caller, CurrentRuntime
from servicekit.eventstore import RecordedEvent
from servicekit.http import Problem
from servicekit.runtime import Runtime
from services.supervision import readmodel
from services.supervision.authz import require_file_reader
from services.supervision.domain.commands import KnownAgency
from services.supervision.domain.credit_file import CreditFile
from services.supervision.handlers import evolve_file
from services.supervision.report import credit_file_view, credit_report

router = APIRouter(tags=["queries"])


def end_of(day: dt.date) -> dt.datetime:
    """The first instant after a local day."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=LOCAL_TIME_ZONE)


async def readable_agency(runtime: Runtime, caller: Principal, uscc: str) -> KnownAgency | None:
    """The agency's facts for its credit file, once the caller may read that file (403, or 404
    to a scoped caller naming an agency not known here)."""
    async with runtime.pool.acquire() as conn:
        scope = await readmodel.agency_scope(conn, uscc)
        agency = await readmodel.known_agency(conn, uscc, None)
    try:
        require_file_reader(caller, scope, uscc)
    except InvalidTransition as exc:
        raise Problem(404, exc.code, "机构不存在 (agency not found)", exc.message_en) from exc
    return agency


def _entry(r: RecordedEvent) -> dict[str, Any]:
    return {
        "event_id": str(r.event_id),
        "type": f"{r.event_type}.v{r.event_version}",
        "stream_version": r.stream_version,
        "occurred_at": r.occurred_at,
        "recorded_at": r.recorded_at,
        "actor": r.actor,
        "data": r.data,
    }


async def file_as_of(
    runtime: Runtime, uscc: str, as_of: dt.date | None, recorded_as_of: dt.datetime | None
) -> tuple[CreditFile | None, list[dict[str, Any]], dt.date]:
    """The file folded from the facts that had occurred by the end of `as_of` (local) and had
    been recorded by `recorded_as_of`."""
    day = as_of or local_date(dt.datetime.now(dt.UTC))
    recorded = await runtime.store.read_stream(uscc, recorded_until=recorded_as_of)
    kept = [r for r in recorded if r.occurred_at < end_of(day)]
    file: CreditFile | None = None
    for r in kept:
        file = evolve_file(file, r.load())
    if file is None and not recorded:
        raise Problem(
            404,
            "credit_file_not_found",
            "诚信档案不存在 (no credit file)",
            f"no records for {uscc}",
        )
    return file, [_entry(r) for r in kept], day


@router.get("/credit-files/{uscc}", summary="诚信档案 Credit file")
async def credit_file(
    runtime: CurrentRuntime,
    caller: Caller,
    uscc: str,
    as_of: dt.date | None = None,
    recorded_as_of: dt.datetime | None = None,
) -> dict[str, Any]:
    agency = await readable_agency(runtime, caller, uscc)
    file, events, day = await file_as_of(runtime, uscc, as_of, recorded_as_of)
    view = credit_file_view(file, agency, day, uscc)
    view["events"] = events
    view["recorded_as_of"] = recorded_as_of
    return view


@router.get(
    "/credit-files/{uscc}/report",
    summary="信用报告 Printable credit report (Chinese)",
    response_class=PlainTextResponse,
)
async def printable_report(
    runtime: CurrentRuntime,
    caller: Caller,
    uscc: str,
    as_of: dt.date | None = None,
    recorded_as_of: dt.datetime | None = None,
) -> str:
    agency = await readable_agency(runtime, caller, uscc)
    file, _, day = await file_as_of(runtime, uscc, as_of, recorded_as_of)
    return credit_report(file, agency, day, uscc)
