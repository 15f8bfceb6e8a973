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
    to_xlsx(rows[:1], columns, "报告")  # the writer's imports and caches: not the export's
    tracemalloc.start()
    try:
        to_xlsx(rows, columns, "报告")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024, f"{peak / 2**20:.2f} MiB"


def test_xlsx_cells_of_a_credit_list_table() -> None:
    """Every cell as the table says: text as text (spaces kept), a missing value blank, counts
    and amounts as numbers in their format, lists joined, the sheet named by the title."""
    columns = (
        ("uscc", "统一社会信用代码"),
        ("agency_name", "机构名称"),
        ("removed_on", "移出日期"),
        ("staff", "专职人数"),
        ("fine_yuan", "罚款（元）"),
        ("fields", "服务领域"),
        ("priority", "重点机构"),
    )
    rows: list[dict[str, object]] = [
        {
            "uscc": "524101199H30000000",
            "agency_name": " 郑州市某社会工作服务中心 ",
            "removed_on": None,
            "staff": 12,
            "fine_yuan": "2500.00",
            "fields": ["社区服务", "婚姻家庭"],
            "priority": False,
        },
        {"uscc": "524101199H30000001", "removed_on": "2024-05-01", "fine_yuan": "不详"},
    ]
    workbook = load_workbook(io.BytesIO(to_xlsx(rows, columns, "信用名录")))
    assert workbook.sheetnames == ["信用名录"]
    sheet = workbook.active
    assert sheet is not None
    cells = [[(c.value, c.data_type, c.number_format) for c in row] for row in sheet.iter_rows()]
    text, blank = "General", (None, "n", "General")
    assert cells == [
        [(zh, "s", text) for _, zh in columns],
        [
            ("524101199H30000000", "s", text),
            (" 郑州市某社会工作服务中心 ", "s", text),
            blank,
            (12, "n", text),
            (2500, "n", "#,##0.00"),
            ("社区服务、婚姻家庭", "s", text),
            ("否", "s", text),
        ],
        [
            ("524101199H30000001", "s", text),
            blank,
            ("2024-05-01", "s", text),
            blank,
            ("不详", "s", text),
            blank,
            blank,
        ],
    ]
