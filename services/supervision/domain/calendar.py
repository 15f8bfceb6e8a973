"""The compliance calendar (合规日历; issue 11 §3): what an agency owes, by when, and what is late.

Pure: an agency's credit file, its registration day, its stays at bases and a day in, the items
out. Items: the working year's annual report — the sponsor's preliminary review (业务主管单位初审,
for agencies with a sponsor) and the filing with civil affairs (报送), by the dates of the
inspection policy in force (default 31 March and 31 May of the next year, a day off moved to the
next working day, §203); open rectifications by their deadlines; the latest evaluation grade's
expiry; each current incubation agreement's end. Status: `done` (on time), `done_late`, `late`
(past due, not done), `due` (not yet due).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Literal

from socialwork_contracts.periods import UnknownCalendarYear

from services.supervision.domain import inspection
from services.supervision.domain.credit_file import CreditFile
from services.supervision.domain.periods import last_day

Status = Literal["done", "done_late", "late", "due"]


@dataclass(frozen=True, slots=True)
class Stay:
    """A stay at a base as supervision learnt it from incubation (agreement end inclusive)."""

    incubation_id: str
    base_id: str
    term_end: dt.date | None
    ended_on: dt.date | None


@dataclass(frozen=True, slots=True)
class Item:
    kind: str
    label: str  # Chinese, as the officer reads it
    ref: str  # the working year, rectification, evaluation or incubation it concerns
    due_on: dt.date
    status: Status
    done_on: dt.date | None = None
    # False when the due day lies in a year the working calendar does not hold yet: shown as
    # configured, not yet moved past a day off (§203) — provisional, said so (issue 11 §4).
    calendar_confirmed: bool = True


def _moved(day: dt.date) -> dt.date:
    """The deadline after §203; unmoved when the calendar lacks the year (shown as configured)."""
    try:
        return last_day(day)
    except UnknownCalendarYear:
        return day


# Deadlines moved past a day off (§203); grade and agreement ends are dates as stated.
MOVED_KINDS = frozenset({"annual_report_sponsor_review", "annual_report_filing", "rectification"})


def _confirmed(day: dt.date) -> bool:
    """Whether the working calendar holds the due day's year (the day is final)."""
    try:
        last_day(day)
    except UnknownCalendarYear:
        return False
    return True


def _status(due_on: dt.date, done_on: dt.date | None, as_of: dt.date) -> Status:
    if done_on is not None:
        return "done" if done_on <= due_on else "done_late"
    return "late" if as_of > due_on else "due"


def compliance_calendar(
    file: CreditFile | None,
    uscc: str,
    registered_on: dt.date,
    stays: list[Stay],
    as_of: dt.date,
    *,
    has_sponsor: bool = True,
) -> list[Item]:
    """Everything owed as of `as_of`, by due day."""
    file = file or CreditFile(uscc=uscc)
    items = [
        *_annual_report(file, registered_on, as_of, has_sponsor=has_sponsor),
        *_rectifications(file, as_of),
        *_grade_expiry(file, as_of),
        *_agreement_expiries(stays, as_of),
    ]
    items = [
        replace(i, calendar_confirmed=_confirmed(i.due_on)) if i.kind in MOVED_KINDS else i
        for i in items
    ]
    return sorted(items, key=lambda i: (i.due_on, i.kind, i.ref))


def _annual_report(
    file: CreditFile, registered_on: dt.date, as_of: dt.date, *, has_sponsor: bool
) -> list[Item]:
    """The sponsor's review and the filing of last working year's report, unless exempt."""
    year = as_of.year - 1  # the working year whose report falls due this year
    policy = inspection.year_policy(year)
    if registered_on > dt.date(year, 12, 31) or inspection.exempt(registered_on, year, policy):
        return []
    items: list[Item] = []
    if has_sponsor:
        due = _moved(inspection.sponsor_review_deadline(year, policy))
        done = file.sponsor_reviewed(year)
        items.append(
            Item(
                "annual_report_sponsor_review",
                f"{year}年度报告业务主管单位初审",
                str(year),
                due,
                _status(due, done, as_of),
                done,
            )
        )
    concluded = next((i.concluded_on for i in file.inspections if i.year == year), None)
    due = _moved(inspection.filing_deadline(year, policy))
    done = file.filed(year) or concluded
    items.append(
        Item(
            "annual_report_filing",
            f"{year}年度报告报送登记管理机关",
            str(year),
            due,
            _status(due, done, as_of),
            done,
        )
    )
    return items


def _rectifications(file: CreditFile, as_of: dt.date) -> list[Item]:
    items = []
    for r in file.rectifications:
        if not r.unresolved:
            continue
        due = _moved(r.deadline)
        status: Status = "late" if r.overdue_on is not None else _status(due, None, as_of)
        items.append(Item("rectification", "限期整改", r.rectification_id, due, status))
    return items


def _grade_expiry(file: CreditFile, as_of: dt.date) -> list[Item]:
    if not file.grades:
        return []
    grade = max(file.grades, key=lambda g: (g.announced_on, g.evaluation_id))
    return [
        Item(
            "grade_expiry",
            f"评估等级（{grade.grade}A）有效期届满",
            grade.evaluation_id,
            grade.valid_to,
            "late" if as_of > grade.valid_to else "due",
        )
    ]


def _agreement_expiries(stays: list[Stay], as_of: dt.date) -> list[Item]:
    return [
        Item(
            "agreement_expiry",
            "入孵协议期满（未续驻则应出壳或退驻）",
            stay.incubation_id,
            stay.term_end,
            _status(stay.term_end, None, as_of),
        )
        for stay in stays
        if stay.ended_on is None and stay.term_end is not None
    ]
