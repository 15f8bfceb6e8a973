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
    """The table as one sheet: Chinese headers, text as text (never a formula), amounts as
    numbers in their format, an empty value as a blank cell."""
    # Imported on the first Excel export, not with the app: a service may never make one
    # (issue 12: reporting's RSS).
    import xlsxwriter

    buffer = io.BytesIO()
    # constant_memory: each row is written out once the next begins, as inline strings, so
    # a city table's cells are never held at once (5.8 MiB for 2,000 rows of 10 when they
    # were). XlsxWriter instead of openpyxl's write-only mode: 648 rows of the credit lists
    # took openpyxl 76-88 ms, XlsxWriter 38-39 (p50, load 4.4-4.8; RESULTS.md, targets10).
    workbook = xlsxwriter.Workbook(buffer, {"constant_memory": True})
    sheet = workbook.add_worksheet(title[:31])
    formats = {key: _number_format(key) for key, _ in columns}
    styles = {f: workbook.add_format({"num_format": f}) for f in formats.values() if f}
    for c, (_, zh) in enumerate(columns):
        sheet.write_string(0, c, zh)
    for r, row in enumerate(rows, start=1):
        for c, (key, _) in enumerate(columns):
            value = _xlsx_cell(key, row.get(key))
            if isinstance(value, str):
                if value:  # write_string, not write: text that looks like a formula stays text
                    sheet.write_string(r, c, value)
            else:
                number_format = formats[key]
                sheet.write_number(r, c, value, styles[number_format] if number_format else None)
    workbook.close()
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
    thread: a city table takes tens of milliseconds the event loop must not wait."""
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
