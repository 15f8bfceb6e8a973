"""The reporting HTTP API: reports as of any date (by occurrence and by recording), exports."""

# No `from __future__ import annotations`: FastAPI reads these route annotations at runtime.
import datetime as dt
import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BeforeValidator
from socialwork_contracts import reference

from servicekit.auth import Principal, require_role
from servicekit.http import Problem
from servicekit.runtime import Runtime
from services.reporting import readmodel
from services.reporting.authz import READERS, readable_unit
from services.reporting.cache import ReportCache
from services.reporting.domain.periods import (
    LOCAL,
    Half,
    end_of_local_day,
    local_date,
    report_period,
)
from services.reporting.exports import XLSX, Format, table_response
from services.reporting.views import HALF_COLUMNS, Rendered, ReportQuery, half_year_title

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date_only(value: object) -> object:
    """Only a calendar date YYYY-MM-DD: pydantic would also read `0` or `1309392000` as Unix
    times and `2011-06-30T00:00:00` as a date, silently answering for a day nobody asked for
    (issue 10 item 9)."""
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("as_of must be a date, YYYY-MM-DD")
    return value


AsOf = Annotated[
    dt.date | None,
    BeforeValidator(_iso_date_only),
    Query(
        description="按发生时间 as of this local date (facts that happened by then); default today"
    ),
]
RecordedUntil = Annotated[
    str | None,
    Query(
        description="按记录时间 only facts recorded by then: a local date (the whole day) or an "
        "RFC 3339 instant; reproduces a report exactly as it could be made at that time"
    ),
]
Fmt = Annotated[Format, Query(alias="format", description="json | csv | xlsx (Chinese headers)")]
# A report or list is JSON, or with ?format= a CSV or an Excel file (exports.py).
TABLE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON, or the table as CSV or Excel (`format`)",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/csv": {"schema": {"type": "string"}},
            XLSX: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
TABLE_AND_UNIT = {**TABLE, 404: {"description": "Unknown reporting unit (`unit`)"}}
Unit = Annotated[
    str | None, Query(description="统计单位 id; default all units the caller may read")
]


def parse_recorded(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        if len(value) == 10:
            return end_of_local_day(dt.date.fromisoformat(value))
        instant = dt.datetime.fromisoformat(value)
        if not instant.tzinfo:
            instant = instant.replace(tzinfo=LOCAL)
        instant.astimezone(dt.UTC)  # an instant outside the representable range overflows
    except (ValueError, OverflowError) as exc:
        raise Problem(
            422, "invalid_recorded_until", "记录时间格式错误 (invalid recorded_until)", str(exc)
        ) from exc
    return instant


def today() -> dt.date:
    return local_date(dt.datetime.now(dt.UTC))


def _check_unit(unit: str | None) -> None:
    if unit is None:
        return
    try:
        reference.locality(unit)
    except KeyError as exc:
        raise Problem(404, "unit_not_found", "统计单位不存在 (unknown unit)", unit) from exc


TARGET_COLUMNS = (
    ("id", "指标编号"),
    ("title", "指标"),
    ("status", "状态"),
    ("required", "要求数"),
    ("achieved", "已完成数"),
    ("missing", "缺口（何处）"),
)
COVERAGE_COLUMNS = (
    ("unit_name", "统计单位"),
    ("dimension_name", "维度"),
    ("item_name", "服务对象/服务领域"),
    ("priority", "重点"),
    ("agencies", "机构数"),
)
TREND_COLUMNS = (
    ("year", "年份"),
    ("agencies_registered", "年末登记在册机构"),
    ("agencies_new", "当年新登记机构"),
    ("bases_operating", "年末运营基地"),
    ("bases_new", "当年新建基地"),
    ("graduated", "当年出壳机构"),
)
LISTING_COLUMNS = (
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
BASE_COLUMNS = (
    ("base_name", "基地名称"),
    ("unit_name", "统计单位"),
    ("established_on", "建成日期"),
    ("window_end", "一年期满日"),
    ("local_agencies", "一年内孵化本地机构数"),
    ("missing", "缺口"),
    ("status", "状态"),
)
AGENCY_COLUMNS = (
    ("uscc", "统一社会信用代码"),
    ("name", "机构名称"),
    ("kind", "类型"),
    ("reporting_unit", "统计单位"),
    ("status", "登记状态"),
    ("status_since", "状态起始日期"),
    ("registered_on", "登记日期"),
    ("priority", "重点机构"),
)


def build_router(
    runtime_of: Callable[[Request], Runtime], principal: Any, cache: ReportCache
) -> APIRouter:
    router = APIRouter()
    Caller = Annotated[Principal, Depends(principal)]  # noqa: N806 - a type alias

    async def answer(request: Request, query: ReportQuery) -> Rendered:
        return await cache.answer(runtime_of(request).pool, query)

    @router.get(
        "/reports/targets",
        tags=["reports"],
        summary="目标进度 Target tracker (§3)",
        responses=TABLE,
    )
    async def target_tracker(
        request: Request,
        caller: Caller,
        as_of: AsOf = None,
        recorded_until: RecordedUntil = None,
        fmt: Fmt = "json",
    ) -> Response:
        require_role(caller, READERS, "read the target tracker")
        day = as_of or today()
        query = ReportQuery("targets", day, parse_recorded(recorded_until), recorded_until)
        found = await answer(request, query)
        return await table_response(
            fmt,
            body=found.body,
            rows=found.rows,
            columns=TARGET_COLUMNS,
            filename=f"目标进度-{day}",
            title="目标进度",
        )

    @router.get(
        "/reports/half-year",
        tags=["reports"],
        summary="年中/年终报告 Mid-year or year-end (§6.3)",
        responses=TABLE_AND_UNIT,
    )
    async def half_year(
        request: Request,
        caller: Caller,
        year: Annotated[int, Query(ge=2000, le=2100)],
        half: Half = "mid_year",
        unit: Unit = None,
        recorded_until: RecordedUntil = None,
        fmt: Fmt = "json",
    ) -> Response:
        scope = readable_unit(caller, unit, "read half-year reports")
        _check_unit(scope)
        period = report_period(year, half)
        recorded = parse_recorded(recorded_until)
        query = ReportQuery(
            "half_year", period.end, recorded, recorded_until, scope=scope, year=year, half=half
        )
        found = await answer(request, query)
        half_zh, title = half_year_title(year, half)
        return await table_response(
            fmt,
            body=found.body,
            rows=found.rows,
            columns=HALF_COLUMNS,
            filename=f"{year}年{half_zh}报告-{period.end.isoformat()}",
            title=title,
        )

    @router.get(
        "/reports/coverage",
        tags=["reports"],
        summary="重点覆盖 Priority coverage by unit",
        responses=TABLE_AND_UNIT,
    )
    async def coverage(
        request: Request,
        caller: Caller,
        as_of: AsOf = None,
        recorded_until: RecordedUntil = None,
        unit: Unit = None,
        fmt: Fmt = "json",
    ) -> Response:
        scope = readable_unit(caller, unit, "read coverage")
        _check_unit(scope)
        day = as_of or today()
        query = ReportQuery(
            "coverage", day, parse_recorded(recorded_until), recorded_until, scope=scope
        )
        found = await answer(request, query)
        return await table_response(
            fmt,
            body=found.body,
            rows=found.rows,
            columns=COVERAGE_COLUMNS,
            filename=f"重点覆盖-{day}",
            title="重点覆盖",
        )

    @router.get(
        "/reports/trends",
        tags=["reports"],
        summary="年度趋势 Trends by year (city)",
        responses=TABLE,
    )
    async def trends(
        request: Request,
        caller: Caller,
        as_of: AsOf = None,
        recorded_until: RecordedUntil = None,
        fmt: Fmt = "json",
    ) -> Response:
        require_role(caller, READERS, "read trends")
        day = as_of or today()
        query = ReportQuery("trends", day, parse_recorded(recorded_until), recorded_until)
        found = await answer(request, query)
        return await table_response(
            fmt,
            body=found.body,
            rows=found.rows,
            columns=TREND_COLUMNS,
            filename=f"年度趋势-{day}",
            title="年度趋势",
        )

    @router.get(
        "/reports/credit-listings",
        tags=["reports"],
        summary="信用名录 Agencies on credit lists",
        responses=TABLE,
    )
    async def credit_listings(
        request: Request,
        caller: Caller,
        as_of: AsOf = None,
        recorded_until: RecordedUntil = None,
        include_removed: bool = False,
        unit: Unit = None,
        fmt: Fmt = "json",
    ) -> Response:
        scope = readable_unit(caller, unit, "read credit lists")
        day = as_of or today()
        query = ReportQuery(
            "credit_listings",
            day,
            parse_recorded(recorded_until),
            recorded_until,
            scope=scope,
            include_removed=include_removed,
        )
        found = await answer(request, query)
        return await table_response(
            fmt,
            body=found.body,
            rows=found.rows,
            columns=LISTING_COLUMNS,
            filename=f"信用名录-{day}",
            title="信用名录",
        )

    @router.get(
        "/reports/bases",
        tags=["reports"],
        summary="基地孵化进度 Bases and target 2",
        responses=TABLE,
    )
    async def bases(
        request: Request,
        caller: Caller,
        as_of: AsOf = None,
        recorded_until: RecordedUntil = None,
        unit: Unit = None,
        fmt: Fmt = "json",
    ) -> Response:
        scope = readable_unit(caller, unit, "read bases")
        day = as_of or today()
        query = ReportQuery(
            "bases", day, parse_recorded(recorded_until), recorded_until, scope=scope
        )
        found = await answer(request, query)
        return await table_response(
            fmt,
            body=found.body,
            rows=found.rows,
            columns=BASE_COLUMNS,
            filename=f"基地-{day}",
            title="基地",
        )

    @router.get(
        "/agencies", tags=["lists"], summary="机构（当前） Agencies, current state", responses=TABLE
    )
    async def agencies(
        request: Request,
        caller: Caller,
        unit: Unit = None,
        limit: Annotated[int, Query(ge=1, le=10000)] = 500,
        offset: Annotated[int, Query(ge=0)] = 0,
        fmt: Fmt = "json",
    ) -> Response:
        scope = readable_unit(caller, unit, "read agencies")
        async with runtime_of(request).pool.acquire() as conn:
            generation = await readmodel.current_generation(conn)
            total, items = await readmodel.list_agencies(conn, generation, scope, limit, offset)
        rows = [
            {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in r.items()}
            for r in items
        ]
        body = {"total": total, "limit": limit, "offset": offset, "items": rows}
        return await table_response(
            fmt,
            body=body,
            rows=rows,
            columns=AGENCY_COLUMNS,
            filename=f"机构-{dt.datetime.now(LOCAL).date().isoformat()}",  # the current state
            title="机构",
        )

    @router.get("/agencies/{uscc}", tags=["lists"], summary="机构（当前） One agency")
    async def agency(request: Request, caller: Caller, uscc: str) -> dict[str, Any]:
        require_role(caller, READERS, "read agencies")
        async with runtime_of(request).pool.acquire() as conn:
            generation = await readmodel.current_generation(conn)
            row = await readmodel.get_agency(conn, generation, uscc)
        if row is None:
            raise Problem(404, "agency_not_found", "机构不存在 (agency not found)", uscc)
        readable_unit(caller, row["reporting_unit"], "read agencies")
        return row

    @router.get("/projection/status", tags=["operations"], summary="投影状态 Projection status")
    async def status(request: Request, caller: Caller) -> dict[str, Any]:
        require_role(caller, READERS, "read the projection status")
        runtime = runtime_of(request)
        async with runtime.pool.acquire() as conn:
            generation = await readmodel.current_generation(conn)
            # An estimate: counting a million facts took 125 ms a request (issue 12).
            facts = await readmodel.facts_estimate(conn, generation)
        consumer = runtime.consumers[0] if runtime.consumers else None
        return {
            "generation": generation,
            "facts_estimate": facts,
            "checkpoints": {f"{t}/{p}": o for (t, p), o in (await consumer.checkpoints()).items()}
            if consumer
            else {},
            "stats": {
                "applied": consumer.stats.applied,
                "duplicates": consumer.stats.duplicates,
                "skipped": consumer.stats.skipped,
                "dead_lettered": consumer.stats.dead_lettered,
            }
            if consumer
            else {},
        }

    @router.get("/reference/localities", tags=["reference"], summary="统计单位 Reporting units")
    async def localities() -> list[reference.Locality]:
        return list(reference.localities())

    return router
