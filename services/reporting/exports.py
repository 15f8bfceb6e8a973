"""Every list and report as JSON, CSV (UTF-8 with BOM, so Excel reads the Chinese) or Excel."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import quote
from xml.sax.saxutils import escape

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
            number = Decimal(value)
        except InvalidOperation:
            number = None
        if number is not None and number.is_finite():
            return number
        # not an amount after all: written as (neutralised) text
    return _cell(value)


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Columns) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([zh for _, zh in columns])
    for row in rows:
        writer.writerow([_cell(row.get(key)) for key, _ in columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(rows: Sequence[Mapping[str, Any]], columns: Columns, title: str) -> bytes:
    """One sheet: the headers, then a row per record; text as inline strings (never a formula
    or an error value), amounts as numbers in their format. Written here, row by row: openpyxl
    held a cell object per value until saved (5.8 MiB for 2,000 rows of 10) and its modules
    stayed 4.6 MiB resident in the service after the first export (issue 12: reporting's RSS)."""
    formats = [_number_format(key) for key, _ in columns]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        for name, part in _XLSX_PARTS.items():
            package.writestr(name, part)
        package.writestr("xl/workbook.xml", _XLSX_WORKBOOK.format(escape(title[:31], _QUOTE)))
        with package.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(_XLSX_SHEET_START)
            headers = "".join(_xlsx_text(zh) for _, zh in columns)
            sheet.write(_XLSX_ROW.format(1, headers).encode())
            for n, row in enumerate(rows, start=2):
                cells = (
                    _xlsx_value(_xlsx_cell(key, row.get(key)), number_format)
                    for (key, _), number_format in zip(columns, formats, strict=True)
                )
                sheet.write(_XLSX_ROW.format(n, "".join(cells)).encode())
            sheet.write(_XLSX_SHEET_END)
    return buffer.getvalue()


def _xlsx_text(text: str) -> str:
    if _XML_ILLEGAL.search(text):  # XML 1.0 cannot carry them (openpyxl refused them too)
        raise ValueError(f"a control character in an Excel cell: {text!r}")
    if not text:  # a blank cell, as openpyxl wrote it
        return '<c t="inlineStr"/>'
    return f'<c t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'


def _xlsx_value(value: Any, number_format: str | None) -> str:
    if isinstance(value, str):
        return _xlsx_text(value)
    if isinstance(value, int | float | Decimal):
        style = f' s="{_XLSX_STYLES[number_format]}"' if number_format else ""
        return f"<c{style}><v>{value}</v></c>"
    raise TypeError(f"not a cell's value: {type(value).__name__}")


# SpreadsheetML (ECMA-376), the least a reader needs: the package's parts, one sheet, and a
# style per number format (numFmtId 164 on: custom formats).
_QUOTE = {'"': "&quot;"}
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XLSX_STYLES = {f: n for n, f in enumerate(NUMBER_FORMATS.values(), start=1)}
_XLSX_PARTS = {
    "[Content_Types].xml": _XML
    + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.styles+xml"/></Types>',
    "_rels/.rels": _XML + f'<Relationships xmlns="{_RELS}"><Relationship Id="rId1" '
    f'Type="{_DOC}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/_rels/workbook.xml.rels": _XML + f'<Relationships xmlns="{_RELS}">'
    f'<Relationship Id="rId1" Type="{_DOC}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_DOC}/styles" Target="styles.xml"/></Relationships>',
    "xl/styles.xml": _XML
    + f'<styleSheet xmlns="{_MAIN}"><numFmts count="{len(_XLSX_STYLES)}">'
    + "".join(
        f'<numFmt numFmtId="{163 + n}" formatCode="{escape(f, _QUOTE)}"/>'
        for f, n in _XLSX_STYLES.items()
    )
    + '</numFmts><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill '
    'patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/>'
    '<bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" '
    f'fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="{len(_XLSX_STYLES) + 1}">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    + "".join(
        f'<xf numFmtId="{163 + n}" fontId="0" fillId="0" borderId="0" xfId="0" '
        'applyNumberFormat="1"/>'
        for n in _XLSX_STYLES.values()
    )
    + '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    "</cellStyles></styleSheet>",
}
_XLSX_WORKBOOK = (
    _XML + f'<workbook xmlns="{_MAIN}" xmlns:r="{_DOC}"><sheets>'
    '<sheet name="{}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_XLSX_SHEET_START = (_XML + f'<worksheet xmlns="{_MAIN}"><sheetData>').encode()
_XLSX_SHEET_END = b"</sheetData></worksheet>"
_XLSX_ROW = '<row r="{}">{}</row>'


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
