"""The reporting service imports at start what every request needs, not what one format needs.

openpyxl (5 MB resident of its modules) was imported with the app although only an Excel
export calls it, and most processes never make one (issue 12: reporting's RSS ≤ 150 MB); the
same holds of XlsxWriter, which writes the Excel files now.
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


def test_the_app_does_not_import_an_excel_writer_until_an_excel_export() -> None:
    found = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments, no shell
        [sys.executable, "-c", _STARTED], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = set(found.stdout.strip().split(","))
    assert "fastapi" in loaded  # the app was built
    assert not loaded & {"openpyxl", "xlsxwriter"}
