"""Every list and report as JSON, CSV (UTF-8 with BOM, so Excel reads the Chinese) or Excel."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import quote

from fastapi import Response
from fastapi.responses import JSONResponse

Format = Literal["json", "csv", "xlsx"]
Columns = Sequence[tuple[str, str]]  # (key, Chinese header)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# OWASP CSV injection: a spreadsheet reads a cell starting with one of these as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Amounts travel as exact decimal strings (JSON); in Excel they are numbers one can add, shown
# with thousands separators. Keys name the unit: `…_yuan` money, `…_hours` training hours.
NUMBER_FORMATS = {"_yuan": "#,##0.00", "_hours": "#,##0.0"}


def neutralised(text: str) -> str:
    """Text that no spreadsheet evaluates: a leading formula character gets a quote before it."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _cell(value: Any) -> Any:
    """A readable cell; text (an agency's name, a list) is neutralised, numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | tuple):
        return neutralised("、".join(str(v) for v in value))
    if isinstance(value, str):
        return neutralised(value)
    return value


def _number_format(key: str) -> str | None:
    return next((f for suffix, f in NUMBER_FORMATS.items() if key.endswith(suffix)), None)


def _xlsx_cell(key: str, value: Any) -> Any:
    if _number_format(key) is not None and isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            pass  # not an amount after all: written as (neutralised) text
    return _cell(value)


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Columns) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([zh for _, zh in columns])
    for row in rows:
        writer.writerow([_cell(row.get(key)) for key, _ in columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(rows: Sequence[Mapping[str, Any]], columns: Columns, title: str) -> bytes:
    # Imported on the first Excel export, not with the app: its modules are 5 MB resident in
    # a service that may never make one (issue 12: reporting's RSS).
    from openpyxl import Workbook
    from openpyxl.cell import Cell, WriteOnlyCell

    # Write-only: each row is written as it is appended. A workbook held a cell object per
    # value until saved (5.8 MiB for 2,000 rows of 10), and the service kept the pages.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])

    def cell(value: Any, number_format: str | None) -> Cell:
        made = WriteOnlyCell(sheet, value)
        # openpyxl types text itself: "=…" as a formula, "#REF!" as an error; text is text.
        if isinstance(value, str):
            made.data_type = "s"
        elif number_format is not None:
            made.number_format = number_format
        return made

    sheet.append([cell(zh, None) for _, zh in columns])
    formats = [_number_format(key) for key, _ in columns]
    for row in rows:
        sheet.append(
            [
                cell(_xlsx_cell(key, row.get(key)), number_format)
                for (key, _), number_format in zip(columns, formats, strict=True)
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


MEDIA_TYPES: dict[Format, str] = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": XLSX,
}


async def encoded(
    fmt: Format, *, body: Any, rows: Sequence[Mapping[str, Any]], columns: Columns, title: str
) -> bytes:
    """JSON is the full report; CSV and Excel are its table with Chinese headers, built in a
    thread: a city table takes openpyxl hundreds of milliseconds the event loop must not wait."""
    if fmt == "json":
        return bytes(JSONResponse(body).body)
    if fmt == "csv":
        return await asyncio.to_thread(to_csv, rows, columns)
    return await asyncio.to_thread(to_xlsx, rows, columns, title)


def file_response(fmt: Format, content: bytes, filename: str) -> Response:
    """An encoded report: JSON inline, a table as an attachment named `filename`."""
    if fmt == "json":
        return Response(content, media_type=MEDIA_TYPES[fmt])
    disposition = f"attachment; filename*=UTF-8''{quote(filename)}.{fmt}"
    return Response(
        content, media_type=MEDIA_TYPES[fmt], headers={"Content-Disposition": disposition}
    )


async def table_response(
    fmt: Format,
    *,
    body: Any,
    rows: Sequence[Mapping[str, Any]],
    columns: Columns,
    filename: str,
    title: str,
) -> Response:
    content = await encoded(fmt, body=body, rows=rows, columns=columns, title=title)
    return file_response(fmt, content, filename)
