"""The working calendar (issue 11 §4): the pinned table is the chinesecalendar library's for every
year the library has; a later year is entered from the State Council's notice by a checked
procedure; until then a date in that year is never guessed, and an officer gets a clear problem
(422 `calendar_year_unknown`), not an internal error."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from devstack import working_calendar
from fastapi import FastAPI
from socialwork_contracts import periods

from servicekit.http import install_problem_handlers
from services.supervision.domain.calendar import compliance_calendar

D = dt.date
# A stand-in for 2027's notice, shaped like a real one (holidays and 调休); not the official table.
OFF = "2027-01-01,2027-02-08,2027-02-09,2027-02-10,2027-02-11,2027-02-12,2027-05-03"
WORKED = "2027-02-06,2027-02-20"


def test_the_pinned_calendar_matches_the_library() -> None:
    assert working_calendar.main(["--check"]) == 0, "run: python -m devstack.working_calendar"


def test_the_pinned_calendar_ends_in_2026_and_2027_is_not_guessed() -> None:
    assert periods.known_years()[1] == 2026
    assert periods.is_working_day(D(2026, 12, 31))  # the last day it knows: a Thursday
    with pytest.raises(periods.UnknownCalendarYear) as unknown:
        periods.last_day(D(2027, 5, 31))  # 2026's annual reports are due by 31 May 2027
    assert unknown.value.year == 2027
    assert "2027年工作日历尚未录入" in unknown.value.message_zh


async def test_a_date_in_an_unknown_year_is_a_problem_an_officer_can_act_on() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/deadline/{day}")
    async def deadline(day: dt.date) -> dict[str, str]:
        return {"last_day": periods.last_day(day).isoformat()}

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        known = await client.get("/deadline/2026-10-01")  # National Day: moved to 10-08
        assert (known.status_code, known.json()) == (200, {"last_day": "2026-10-08"})
        unknown = await client.get("/deadline/2027-05-31")
    assert unknown.status_code == 422, unknown.text
    body = unknown.json()
    assert (body["code"], body["year"], body["known_years"]) == (
        "calendar_year_unknown",
        2027,
        [2004, 2026],
    )
    assert "国务院办公厅" in body["detail"] and "docs/operations.md" in body["detail"]


def test_the_compliance_calendar_marks_a_deadline_it_could_not_confirm() -> None:
    items = compliance_calendar(None, "u", D(2020, 1, 1), [], D(2027, 1, 10))
    filing = next(i for i in items if i.kind == "annual_report_filing")
    assert (filing.due_on, filing.calendar_confirmed) == (D(2027, 5, 31), False)
    earlier = compliance_calendar(None, "u", D(2020, 1, 1), [], D(2026, 1, 10))
    assert all(i.calendar_confirmed for i in earlier)


def entered(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "year": 2027,
        "notice": "国办发明电〔2026〕（示例）",
        "off": OFF.split(","),
        "worked": WORKED.split(","),
        **changes,
    }
    current: dict[str, Any] = {"years": {"2026": {"weekdays_off": [], "weekends_worked": []}}}
    return working_calendar.add_year(current, **fields)


def test_a_year_entered_from_its_notice_is_used_with_its_make_up_days(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    document = entered()
    assert document["years"]["2027"]["notice"] == "国办发明电〔2026〕（示例）"
    monkeypatch.setattr(periods, "_calendar", lambda: periods.tables(document))
    assert not periods.is_working_day(D(2027, 2, 8))  # a Monday off
    assert periods.is_working_day(D(2027, 2, 6))  # a Saturday worked (调休)
    assert periods.last_day(D(2027, 1, 1)) == D(2027, 1, 4)  # Friday off → Monday
    assert periods.add_working_days(D(2027, 2, 5), 1) == D(2027, 2, 6)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"notice": " "}, "notice"),
        ({"off": [*OFF.split(","), "2027-01-02"]}, "weekend"),  # a Saturday is off anyway
        ({"worked": ["2027-02-05"]}, "weekdays"),  # a Friday is worked anyway
        ({"off": ["2027-01-01", "2028-01-03"]}, "outside"),
        ({"off": ["2027-01-01"]}, "at least"),
        ({"off": ["2027-13-01"]}, "not a date"),
        ({"year": 2026}, "chinesecalendar"),
    ],
)
def test_an_implausible_entry_is_refused(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(working_calendar.CalendarEntryError, match=problem):
        entered(**changes)


def test_the_procedure_writes_the_year_and_keeps_it_beside_the_library(tmp_path: Path) -> None:
    pinned = tmp_path / "working_calendar.json"
    pinned.write_text(working_calendar.PINNED.read_text("utf-8"), "utf-8")
    argv = ["--add-year", "2027", "--notice", "国办发明电〔2026〕（示例）", "--off", OFF]
    assert working_calendar.main([*argv, "--worked", WORKED], pinned) == 0
    written = json.loads(pinned.read_text("utf-8"))
    assert written["years"]["2027"]["weekends_worked"] == WORKED.split(",")
    assert working_calendar.main(["--check"], pinned) == 0  # a regeneration keeps it
    assert working_calendar.main(["--add-year", "2028", "--off", OFF], pinned) == 2
