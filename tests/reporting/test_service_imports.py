"""The reporting service imports at start what every request needs, not what one format needs.

openpyxl (5 MB resident of its modules) was imported with the app although only an Excel
export calls it, and most processes never make one (issue 12: reporting's RSS ≤ 150 MB).
"""

from __future__ import annotations

import subprocess
import sys

# In a fresh interpreter: this test process has imported openpyxl for other tests.
_STARTED = """
import sys
from services.reporting.app import create_app
create_app()
print(",".join(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_the_app_does_not_import_openpyxl_until_an_excel_export() -> None:
    found = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments, no shell
        [sys.executable, "-c", _STARTED], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = set(found.stdout.strip().split(","))
    assert "fastapi" in loaded  # the app was built
    assert "openpyxl" not in loaded


_EXPORTED = """
import sys
from services.reporting.exports import to_xlsx
rows = [{"name": "机构", "funding_total_yuan": "1.50"}]
to_xlsx(rows, [("name", "名称"), ("funding_total_yuan", "资金")], "报告")
print(",".join(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_an_excel_export_leaves_no_spreadsheet_library_behind() -> None:
    """Its modules stayed 4.6 MiB resident in the service after the first Excel export, while
    the history worker still held its state: reporting's RSS peak (issue 12)."""
    found = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments, no shell
        [sys.executable, "-c", _EXPORTED], capture_output=True, text=True, check=True, timeout=120
    )
    assert "openpyxl" not in set(found.stdout.strip().split(","))
