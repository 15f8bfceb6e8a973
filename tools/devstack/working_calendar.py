"""Write contracts' pinned working calendar from the `chinesecalendar` library.

    .venv/bin/python -m devstack.working_calendar          # rewrite working_calendar.json
    .venv/bin/python -m devstack.working_calendar --check  # exit 1 when it differs

The library's years replace the file's; years beyond the library (the bureau's own entries, added
by hand once the State Council publishes a year the library does not have yet) are kept.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import chinese_calendar  # type: ignore[import-untyped]  # no type information shipped

PINNED = (
    Path(__file__).resolve().parents[2]
    / "contracts/src/socialwork_contracts/reference_data/working_calendar.json"
)


def library_year(year: int) -> dict[str, list[str]]:
    days = [dt.date(year, 1, 1) + dt.timedelta(days=n) for n in range(366)]
    days = [d for d in days if d.year == year]
    return {
        "weekdays_off": [d.isoformat() for d in days if d.weekday() < 5 and not _works(d)],
        "weekends_worked": [d.isoformat() for d in days if d.weekday() >= 5 and _works(d)],
    }


def _works(day: dt.date) -> bool:
    return bool(chinese_calendar.is_workday(day))


def library_years() -> range:
    years = {d.year for d in chinese_calendar.holidays}
    return range(min(years), max(years) + 1)


def render(current: dict[str, Any]) -> str:
    years = dict(current.get("years", {}))
    years.update({str(y): library_year(y) for y in library_years()})
    document = {
        "source": f"chinesecalendar {chinese_calendar.__version__}; later years by the bureau",
        "years": dict(sorted(years.items())),
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def main(argv: list[str]) -> int:
    current = json.loads(PINNED.read_text("utf-8")) if PINNED.exists() else {}
    expected = render(current)
    if "--check" in argv:
        if PINNED.read_text("utf-8") != expected:
            print(f"{PINNED} differs from the library: run python -m devstack.working_calendar")
            return 1
        return 0
    PINNED.write_text(expected, "utf-8")
    print(f"wrote {PINNED}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
