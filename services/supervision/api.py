"""The supervision HTTP API: commands (shared command router) and credit-file queries."""

# No `from __future__ import annotations`: FastAPI reads these route annotations at runtime.
import datetime as dt
from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from socialwork_contracts.periods import LOCAL_TIME_ZONE, local_date

from servicekit.auth import Principal, Role, require_role
from servicekit.command_api import CommandRoute, command_router
from servicekit.decisions import InvalidTransition
from servicekit.http import Problem
from servicekit.runtime import Runtime
from services.supervision import readmodel
from services.supervision.authz import LIST_READERS, readable_unit, require_file_reader
from services.supervision.checks import FutureCheckDate, scheduled_check
from services.supervision.domain import calendar
from services.supervision.domain import commands as cmd
from services.supervision.domain.credit_file import CreditFile
from services.supervision.handlers import COMMANDS, evolve_file
from services.supervision.report import credit_file_view, credit_report

ROUTES = (
    CommandRoute("record-violation", cmd.RecordViolation, "记录违规 Record a violation"),
    CommandRoute("order-rectification", cmd.OrderRectification, "责令整改 Order rectification"),
    CommandRoute(
        "confirm-rectification", cmd.ConfirmRectification, "确认整改 Confirm rectification"
    ),
    CommandRoute("impose-penalty", cmd.ImposePenalty, "行政处罚 Impose a penalty"),
    CommandRoute(
        "conclude-annual-inspection", cmd.ConcludeAnnualInspection, "年检结论 Annual inspection"
    ),
    CommandRoute(
        "record-sponsor-review",
        cmd.RecordSponsorReview,
        "年报初审 Sponsor's preliminary review of the annual report",
    ),
    CommandRoute(
        "file-annual-report", cmd.FileAnnualReport, "年报报送 Annual report filed with us"
    ),
    CommandRoute("award-evaluation-grade", cmd.AwardEvaluationGrade, "评估等级 Evaluation grade"),
    CommandRoute("record-commendation", cmd.RecordCommendation, "表彰奖励 Record a commendation"),
    CommandRoute(
        "record-government-project", cmd.RecordGovernmentProject, "政府项目 Government project"
    ),
    CommandRoute(
        "evaluate-project-performance",
        cmd.EvaluateProjectPerformance,
        "绩效评价 Project performance evaluation",
    ),
    CommandRoute(
        "record-follow-up-evaluation",
        cmd.RecordFollowUpEvaluation,
        "跟进评估 Follow-up evaluation of a graduate",
    ),
    CommandRoute("list-agency", cmd.ListAgency, "列入名录（其他法定情形） List by decision"),
    CommandRoute("delist-agency", cmd.DelistAgency, "移出名录 Remove from a list by decision"),
)


# The compliance calendar's day: within the years the inspection rules can be applied to.
CalendarDay = Annotated[
    dt.date | None, Query(description="as of this local day (default today), 1991–2100")
]


def _calendar_day(day: dt.date | None) -> dt.date | None:
    if day is not None and not 1991 <= day.year <= 2100:
        raise Problem(422, "invalid_value", "日期超出范围 (date out of range)", "1991–2100")
    return day


class RunChecks(BaseModel):
    as_of: dt.date | None = Field(
        default=None,
        description="Local date to check as of, not after today (Asia/Shanghai); omit for today",
    )


def build_router(runtime_of: Callable[[Request], Runtime], principal: Any) -> APIRouter:
    router = APIRouter()
    router.include_router(
        command_router(COMMANDS, ROUTES, runtime_of=runtime_of, principal=principal)
    )
    Caller = Annotated[Principal, Depends(principal)]  # noqa: N806 - a type alias

    @router.post(
        "/commands/run-scheduled-checks",
        tags=["commands"],
        summary="到期检查 Run the scheduled check now (city admin)",
    )
    async def run_scheduled_checks(request: Request, caller: Caller, body: RunChecks) -> Any:
        require_role(caller, frozenset({Role.CITY_ADMIN}), "run the scheduled check")
        runtime = runtime_of(request)
        now = dt.datetime.now(dt.UTC)
        try:
            report = await scheduled_check(runtime, body.as_of or local_today(now), now)
        except FutureCheckDate as exc:
            raise Problem(
                422, "future_date", "检查日期不能晚于今天 (date after today)", str(exc)
            ) from exc
        return asdict(report)

    @router.get("/credit-files/{uscc}", tags=["queries"], summary="诚信档案 Credit file")
    async def credit_file(
        request: Request,
        caller: Caller,
        uscc: str,
        as_of: dt.date | None = None,
        recorded_as_of: dt.datetime | None = None,
    ) -> dict[str, Any]:
        runtime = runtime_of(request)
        agency = await readable_agency(runtime, caller, uscc)
        file, events, day = await file_as_of(runtime, uscc, as_of, recorded_as_of)
        view = credit_file_view(file, agency, day, uscc)
        view["events"] = events
        view["recorded_as_of"] = recorded_as_of
        return view

    @router.get(
        "/credit-files/{uscc}/report",
        tags=["queries"],
        summary="信用报告 Printable credit report (Chinese)",
        response_class=PlainTextResponse,
    )
    async def printable_report(
        request: Request,
        caller: Caller,
        uscc: str,
        as_of: dt.date | None = None,
        recorded_as_of: dt.datetime | None = None,
    ) -> str:
        runtime = runtime_of(request)
        agency = await readable_agency(runtime, caller, uscc)
        file, _, day = await file_as_of(runtime, uscc, as_of, recorded_as_of)
        return credit_report(file, agency, day, uscc)

    @router.get("/credit-lists/{credit_list}", tags=["queries"], summary="名录 Agencies listed")
    async def listed(
        request: Request,
        caller: Caller,
        credit_list: Literal["abnormal", "serious"],
        as_of: dt.date | None = None,
        reporting_unit: str | None = None,
    ) -> dict[str, Any]:
        require_role(caller, LIST_READERS, "read credit lists")
        day = as_of or local_today(dt.datetime.now(dt.UTC))
        async with runtime_of(request).pool.acquire() as conn:
            items = await readmodel.listed_agencies(conn, credit_list, day, reporting_unit)
        return {"list": credit_list, "as_of": day, "total": len(items), "items": items}

    @router.get("/rectifications", tags=["queries"], summary="整改 Due and overdue")
    async def rectifications(
        request: Request,
        caller: Caller,
        as_of: dt.date | None = None,
        reporting_unit: str | None = None,
    ) -> dict[str, Any]:
        unit = readable_unit(caller, reporting_unit, "read rectifications")
        day = as_of or local_today(dt.datetime.now(dt.UTC))
        async with runtime_of(request).pool.acquire() as conn:
            found = await readmodel.rectifications_by_state(conn, day, unit)
        return {"as_of": day, **found}

    @router.get(
        "/credit-lists-coming", tags=["queries"], summary="即将自动移出与转入 Coming clock events"
    )
    async def coming(
        request: Request,
        caller: Caller,
        as_of: dt.date | None = None,
        within_days: Annotated[int, Query(ge=1, le=3660)] = 90,
    ) -> dict[str, Any]:
        require_role(caller, LIST_READERS, "read credit lists")
        day = as_of or local_today(dt.datetime.now(dt.UTC))
        until = day + dt.timedelta(days=within_days)
        async with runtime_of(request).pool.acquire() as conn:
            items = await readmodel.coming_clock_events(conn, day, until)
        return {"as_of": day, "until": until, "items": items}

    async def calendar_of(
        runtime: Runtime, conn: Any, uscc: str, registered_on: dt.date, day: dt.date
    ) -> list[dict[str, Any]]:
        """The agency's items from its credit file as it stood at the end of `day`."""
        file: CreditFile | None = None
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=LOCAL_TIME_ZONE)
        for r in await runtime.store.read_stream(uscc, conn=conn):
            if r.occurred_at < end:
                file = evolve_file(file, r.load())
        stays = [calendar.Stay(**s) for s in await readmodel.stays_of(conn, uscc)]
        items = calendar.compliance_calendar(file, uscc, registered_on, stays, day)
        return [asdict(i) for i in items]

    @router.get(
        "/compliance-calendar/{uscc}",
        tags=["queries"],
        summary="合规日历 What an agency owes, by when, what is late",
    )
    async def agency_calendar(
        request: Request, caller: Caller, uscc: str, as_of: CalendarDay = None
    ) -> dict[str, Any]:
        runtime = runtime_of(request)
        agency = await readable_agency(runtime, caller, uscc)
        if agency is None:
            raise Problem(404, "agency_not_found", "机构不存在 (agency not found)", uscc)
        day = _calendar_day(as_of) or local_today(dt.datetime.now(dt.UTC))
        async with runtime.pool.acquire() as conn:
            items = await calendar_of(runtime, conn, uscc, agency.registered_on, day)
        return {"uscc": uscc, "name": agency.name, "as_of": day, "items": items}

    @router.get(
        "/compliance-calendar",
        tags=["queries"],
        summary="合规日历（统计单位） A unit's agencies: what is due and what is late",
    )
    async def unit_calendar(
        request: Request,
        caller: Caller,
        reporting_unit: str | None = None,
        as_of: CalendarDay = None,
    ) -> dict[str, Any]:
        unit = readable_unit(caller, reporting_unit, "read compliance calendars") or reporting_unit
        if unit is None:
            raise Problem(
                422, "unit_required", "请指定统计单位 (reporting_unit required)", "reporting_unit"
            )
        day = _calendar_day(as_of) or local_today(dt.datetime.now(dt.UTC))
        runtime = runtime_of(request)
        rows = []
        async with runtime.pool.acquire() as conn:
            for agency in await readmodel.agencies_in_unit(conn, unit):
                found = await calendar_of(
                    runtime, conn, agency["uscc"], agency["registered_on"], day
                )
                for item in found:
                    rows.append({"uscc": agency["uscc"], "name": agency["name"], **item})
        rows.sort(key=lambda r: (r["due_on"], r["uscc"], r["kind"]))
        late = sum(r["status"] == "late" for r in rows)
        return {"reporting_unit": unit, "as_of": day, "late": late, "items": rows}

    return router


def local_today(now: dt.datetime) -> dt.date:
    return local_date(now)


async def readable_agency(runtime: Runtime, caller: Principal, uscc: str) -> cmd.KnownAgency | None:
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


async def file_as_of(
    runtime: Runtime, uscc: str, as_of: dt.date | None, recorded_as_of: dt.datetime | None
) -> tuple[CreditFile | None, list[dict[str, Any]], dt.date]:
    """The file folded from the facts that had occurred by the end of `as_of` (local) and had
    been recorded by `recorded_as_of`."""
    day = as_of or local_today(dt.datetime.now(dt.UTC))
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=LOCAL_TIME_ZONE)
    recorded = await runtime.store.read_stream(uscc, recorded_until=recorded_as_of)
    kept = [r for r in recorded if r.occurred_at < end]
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
    events = [
        {
            "event_id": str(r.event_id),
            "type": f"{r.event_type}.v{r.event_version}",
            "stream_version": r.stream_version,
            "occurred_at": r.occurred_at,
            "recorded_at": r.recorded_at,
            "actor": r.actor,
            "data": r.data,
        }
        for r in kept
    ]
    return file, events, day
