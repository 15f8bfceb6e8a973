"""Write contracts' pinned working calendar from the `chinesecalendar` library, and add a year
the library does not know yet from the State Council's notice (国务院办公厅关于N年部分节假日安排
的通知).

    .venv/bin/python -m devstack.working_calendar          # rewrite working_calendar.json
    .venv/bin/python -m devstack.working_calendar --check  # exit 1 when it differs
    .venv/bin/python -m devstack.working_calendar --add-year 2027 \\
        --notice "国办发明电〔2026〕N号" --off 2027-01-01,2027-02-08,... --worked 2027-02-07,...

The library's years replace the file's; years beyond the library (the bureau's own entries, each
with its notice's number) are kept. `--off` lists the weekdays (Monday–Friday) the notice gives
off, `--worked` the weekend days it makes working days (调休); both are checked before anything is
written. Procedure and review: docs/operations.md "录入新年度工作日历 (a new year's calendar)".
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
# Every official year has New Year's Day and the Spring Festival off: fewer weekdays off than
# this is a table typed in incompletely, not a year's calendar.
MIN_WEEKDAYS_OFF = 5


class CalendarEntryError(ValueError):
    """A hand-entered year that cannot be the official table (nothing is written)."""


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


def add_year(
    current: dict[str, Any], year: int, notice: str, off: list[str], worked: list[str]
) -> dict[str, Any]:
    """The document with `year` entered from its notice; CalendarEntryError when implausible."""
    if year in library_years():
        raise CalendarEntryError(f"{year} comes from chinesecalendar; it is not entered by hand")
    if not notice.strip():
        raise CalendarEntryError("name the State Council notice the table is copied from")
    off_days, worked_days = _days(off, year), _days(worked, year)
    if wrong := [d for d in off_days if d.weekday() >= 5]:
        raise CalendarEntryError(f"--off lists weekend days (already off): {wrong}")
    if wrong := [d for d in worked_days if d.weekday() < 5]:
        raise CalendarEntryError(f"--worked lists weekdays (already worked): {wrong}")
    if len(off_days) < MIN_WEEKDAYS_OFF:
        raise CalendarEntryError(
            f"only {len(off_days)} weekdays off: a year's notice gives at least {MIN_WEEKDAYS_OFF}"
        )
    years = dict(current.get("years", {}))
    years[str(year)] = {
        "notice": notice.strip(),
        "weekdays_off": [d.isoformat() for d in sorted(off_days)],
        "weekends_worked": [d.isoformat() for d in sorted(worked_days)],
    }
    return {**current, "years": dict(sorted(years.items()))}


def _days(values: list[str], year: int) -> set[dt.date]:
    try:
        days = {dt.date.fromisoformat(v.strip()) for v in values if v.strip()}
    except ValueError as exc:
        raise CalendarEntryError(f"not a date (YYYY-MM-DD): {exc}") from exc
    if outside := sorted(d for d in days if d.year != year):
        raise CalendarEntryError(f"dates outside {year}: {outside}")
    return days


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1] if name in argv[:-1] else ""


def main(argv: list[str], pinned: Path = PINNED) -> int:
    current = json.loads(pinned.read_text("utf-8")) if pinned.exists() else {}
    if "--add-year" in argv:
        try:
            current = add_year(
                current,
                int(_option(argv, "--add-year")),
                _option(argv, "--notice"),
                _option(argv, "--off").split(","),
                _option(argv, "--worked").split(","),
            )
        except (CalendarEntryError, ValueError) as exc:
            print(f"nothing written: {exc}")
            return 2
    expected = render(current)
    if "--check" in argv:
        if pinned.read_text("utf-8") != expected:
            print(f"{pinned} differs from the library: run python -m devstack.working_calendar")
            return 1
        return 0
    pinned.write_text(expected, "utf-8")
    print(f"wrote {pinned}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
