"""Versioned figures of the credit rules (domain.md "Supervision": keep figures as data).

Each entry holds from `valid_from` until the next entry's `valid_from`; a decision uses the entry
in force on its decision date. To change a figure, append an entry; never edit a past one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, TypeVar

InspectionMode = Literal["inspection", "annual_report"]
GradeRule = Literal["from_announcement", "calendar_years"]
# While on the serious list a grade is "suspended" (not to be relied on) until the evaluation
# committee lowers or cancels it, which is recorded as a new grade; or "unaffected".
SeriousListingEffect = Literal["suspended", "unaffected"]


@dataclass(frozen=True, slots=True)
class CreditPolicy:
    """National credit rules 2018 (社会组织信用信息管理办法) as figures."""

    valid_from: dt.date
    abnormal_auto_exit_months: int = 6  # exit after 6 months where nothing needed rectifying
    abnormal_escalation_months: int = 24  # 2 full years on the abnormal list -> serious list
    serious_exit_months: int = 24  # at least 2 years with no new ground, on application
    large_fine_yuan: Decimal = Decimal("50000")  # a fine of this or more -> serious list
    repeat_window_months: int = 36  # two warnings or small fines within 3 years -> serious
    repeat_count: int = 2
    legal_basis: str = "《社会组织信用信息管理办法》（民政部令第60号）"


@dataclass(frozen=True, slots=True)
class InspectionPolicy:
    """Which annual mode applies (年检 or 年报), and the six-month exemption for newcomers."""

    valid_from: dt.date
    mode: InspectionMode
    exempt_months_before_year_end: int = 6  # registered < 6 months before 31 Dec: exempt
    consecutive_failures_for_revocation: int = 2
    # The working year's report is filed by this day of the next year (sponsor's preliminary
    # review before, by 31 March); a deadline on a day off moves to the next working day.
    filing_deadline: tuple[int, int] = (5, 31)
    sponsor_review_deadline: tuple[int, int] = (3, 31)
    # Whether the clock lists a missing report by itself. Off for years recorded by hand before
    # the platform ran the cycle, so replaying old years lists nobody retroactively.
    clock_lists_missing_report: bool = False


@dataclass(frozen=True, slots=True)
class GradePolicy:
    """How long an evaluation grade (评估等级) is valid; the rule changed on 2026-03-01."""

    valid_from: dt.date
    rule: GradeRule
    years: int = 5
    on_serious_listing: SeriousListingEffect = "suspended"


CREDIT_POLICIES: tuple[CreditPolicy, ...] = (CreditPolicy(valid_from=dt.date(2018, 1, 24)),)
INSPECTION_POLICIES: tuple[InspectionPolicy, ...] = (
    InspectionPolicy(valid_from=dt.date(1998, 10, 25), mode="inspection"),
    # From working year 2026 (reports due 2027-05-31) the platform runs the annual cycle.
    InspectionPolicy(
        valid_from=dt.date(2026, 12, 31), mode="inspection", clock_lists_missing_report=True
    ),
)
GRADE_POLICIES: tuple[GradePolicy, ...] = (
    GradePolicy(valid_from=dt.date(2011, 3, 1), rule="from_announcement"),
    # From 2026-03-01 a grade runs from 1 January after its announcement to 31 December of the
    # fifth year.
    GradePolicy(valid_from=dt.date(2026, 3, 1), rule="calendar_years"),
)


P = TypeVar("P", CreditPolicy, InspectionPolicy, GradePolicy)


def in_force(entries: tuple[P, ...], on: dt.date) -> P:
    """The entry in force on a day (the latest whose valid_from is not after it)."""
    found = [e for e in entries if e.valid_from <= on]
    if not found:
        return entries[0]  # earlier than any entry: the first figures are the oldest we know
    return max(found, key=lambda e: e.valid_from)


def credit_policy(on: dt.date) -> CreditPolicy:
    return in_force(CREDIT_POLICIES, on)


def inspection_policy(on: dt.date) -> InspectionPolicy:
    return in_force(INSPECTION_POLICIES, on)


def grade_policy(on: dt.date) -> GradePolicy:
    return in_force(GRADE_POLICIES, on)
