"""What every report route shares: its typed dependencies, query parameters and one reply path.

The routers are module-level (one module per report); the runtime and the caller come from
`servicekit.dependencies` as in every service, the answer cache from `request.app.state.reports`.
"""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
import asyncio
import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from pydantic import BeforeValidator
from socialwork_contracts import reference

from servicekit.http import Problem
from servicekit.runtime import Runtime
from services.reporting.cache import Closed, Entry, ReportCache
from services.reporting.domain.periods import LOCAL, end_of_local_day, local_date
from services.reporting.exports import XLSX, Columns, Format, encoded, file_response
from services.reporting.views import Rendered, ReportQuery


async def _reports(request: Request) -> ReportCache:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a thread hop a request
    cache: ReportCache = request.app.state.reports
    return cache


Reports = Annotated[ReportCache, Depends(_reports)]

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
Unit = Annotated[
    str | None, Query(description="统计单位 id; default all units the caller may read")
]
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


def check_unit(unit: str | None) -> None:
    if unit is None:
        return
    try:
        reference.locality(unit)
    except KeyError as exc:
        raise Problem(404, "unit_not_found", "统计单位不存在 (unknown unit)", unit) from exc


def query_of(kind: Any, day: dt.date, recorded_until: str | None, **details: Any) -> ReportQuery:
    """A report query as of `day`, by recording when `recorded_until` is given."""
    return ReportQuery(kind, day, parse_recorded(recorded_until), recorded_until, **details)


@dataclass(frozen=True)
class Table:
    """How a report's table is exported: its columns (Chinese headers), file name and title."""

    columns: Columns
    filename: str
    title: str


async def reply(
    reports: ReportCache, runtime: Runtime, query: ReportQuery, fmt: Format, table: Table
) -> Response:
    """The one way a report is answered: from the cache or the fold worker, then formatted,
    saying which position of the facts it reflects (a live answer may be a little behind)."""
    try:
        found = await reports.entry(runtime.pool, query)
    except Closed as stopping:  # the service stops under the request: another instance answers
        raise Problem(
            503, "shutting_down", "服务正在停止，请重试 (shutting down)", "retry the request"
        ) from stopping
    content = await content_of(found.rendered, fmt, table)
    response = file_response(fmt, content, table.filename)
    response.headers.update(position_headers(found))
    return response


# Encodes under way, by answer (its identity: held by every request waiting) and format.
_ENCODING: dict[tuple[int, Format], asyncio.Future[bytes]] = {}


async def content_of(rendered: Rendered, fmt: Format, table: Table) -> bytes:
    """The answer's file in `fmt`, encoded once per answer (`Rendered.encoded`): requests
    asking while it is encoded wait for that encode. Eight clients asking a new credit list's
    Excel file at once each encoded it (1M: each waited 0.55-0.91 s, threads of one GIL)."""
    content = rendered.encoded.get(fmt)
    if content is not None:
        return content
    key = (id(rendered), fmt)
    if key not in _ENCODING:
        made = asyncio.ensure_future(
            encoded(
                fmt,
                body=rendered.body,
                rows=rendered.rows,
                columns=table.columns,
                title=table.title,
            )
        )
        _ENCODING[key] = made
        made.add_done_callback(lambda _: _ENCODING.pop(key, None))
    content = await asyncio.shield(_ENCODING[key])  # a request gone does not end the encode
    rendered.encoded[fmt] = content
    return content


def position_headers(found: Entry) -> dict[str, str]:
    """Headers, not the body: two instances (or one a moment later) give the same body for the
    same facts, whatever position each read them at."""
    return {
        "Report-Applied-Through": found.applied_through.isoformat(),
        "Report-Position": found.snapshot,
    }
