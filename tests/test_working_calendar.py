"""The pinned working calendar is the chinesecalendar library's, for every year the library has."""

from __future__ import annotations

from devstack import working_calendar


def test_the_pinned_calendar_matches_the_library() -> None:
    assert working_calendar.main(["--check"]) == 0, "run: python -m devstack.working_calendar"
