"""CSV and Excel exports carry Chinese headers and readable cells."""

from __future__ import annotations

import io
import tracemalloc

from openpyxl import load_workbook

from services.reporting.exports import to_csv, to_xlsx

COLUMNS = (("name", "机构名称"), ("priority", "重点机构"), ("fields", "服务领域"))
ROWS = [{"name": "郑州市某社会工作服务中心", "priority": True, "fields": ["社区服务", "婚姻家庭"]}]


def test_csv_has_a_bom_and_chinese_headers() -> None:
    body = to_csv(ROWS, COLUMNS)
    assert body.startswith("\ufeff".encode())
    lines = body.decode("utf-8-sig").splitlines()
    assert lines == ["机构名称,重点机构,服务领域", "郑州市某社会工作服务中心,是,社区服务、婚姻家庭"]


def test_xlsx_has_the_same_table() -> None:
    sheet = load_workbook(io.BytesIO(to_xlsx(ROWS, COLUMNS, "机构"))).active
    assert sheet is not None and sheet.title == "机构"
    assert list(sheet.iter_rows(values_only=True)) == [
        ("机构名称", "重点机构", "服务领域"),
        ("郑州市某社会工作服务中心", "是", "社区服务、婚姻家庭"),
    ]


def test_money_and_hours_are_numbers_in_excel() -> None:
    """issue 11 §7: Excel must be able to add them; shown with separators and two decimals."""
    columns = (
        ("unit_name", "统计单位"),
        ("funding_total_yuan", "资金（元）"),
        ("training_hours", "培训时长"),
    )
    rows = [{"unit_name": "中原区", "funding_total_yuan": "1262000.50", "training_hours": "12.5"}]
    sheet = load_workbook(io.BytesIO(to_xlsx(rows, columns, "报告"))).active
    assert sheet is not None
    money, hours = sheet["B2"], sheet["C2"]
    assert money.value == 1262000.5 and money.data_type == "n"
    assert money.number_format == "#,##0.00"
    assert hours.value == 12.5 and hours.data_type == "n"


def test_an_excel_export_does_not_hold_the_whole_sheet_as_cells() -> None:
    """A city table of 2,000 rows held a cell object per value until saved: 5.8 MiB at its
    peak, left resident in the service after its first exports (issue 12: reporting's RSS).
    Written row by row, the sheet's cells are not held at once."""
    columns = [(f"name_{i}", f"名称{i}") for i in range(9)] + [("funding_total_yuan", "资金")]
    rows = [
        {**{f"name_{i}": f"机构{n}-{i}" for i in range(9)}, "funding_total_yuan": f"{n}.50"}
        for n in range(2_000)
    ]
    to_xlsx(rows[:1], columns, "报告")  # openpyxl's imports and caches: not the export's
    tracemalloc.start()
    try:
        to_xlsx(rows, columns, "报告")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024, f"{peak / 2**20:.2f} MiB"
