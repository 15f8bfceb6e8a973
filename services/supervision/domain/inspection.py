"""Annual inspection and evaluation-grade rules (guidance §6.2; domain.md "Supervision"), pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from socialwork_contracts.supervision import InspectionConclusion

from services.supervision.domain.periods import add_months
from services.supervision.domain.policy import (
    INSPECTION_POLICIES,
    GradePolicy,
    InspectionMode,
    InspectionPolicy,
    grade_policy,
    inspection_policy,
)

CONCLUSIONS_BY_MODE: dict[InspectionMode, frozenset[InspectionConclusion]] = {
    "inspection": frozenset({"qualified", "basically_qualified", "unqualified"}),
    "annual_report": frozenset({"filed", "not_filed"}),
}
FAILING: frozenset[InspectionConclusion] = frozenset({"unqualified", "not_filed"})


def year_policy(year: int) -> InspectionPolicy:
    """The mode for a working year is the one in force on its 31 December."""
    return inspection_policy(dt.date(year, 12, 31))


def filing_deadline(year: int, policy: InspectionPolicy | None = None) -> dt.date:
    """The day the working year's report is due (as configured, before §203 moves it)."""
    month, day = (policy or year_policy(year)).filing_deadline
    return dt.date(year + 1, month, day)


def sponsor_review_deadline(year: int, policy: InspectionPolicy | None = None) -> dt.date:
    """The day the sponsor's preliminary review (初审) is due (before §203 moves it)."""
    month, day = (policy or year_policy(year)).sponsor_review_deadline
    return dt.date(year + 1, month, day)


def clock_years(up_to: int) -> list[int]:
    """The working years up to `up_to` whose missing report the clock lists by itself."""
    first = min(p.valid_from.year for p in INSPECTION_POLICIES)
    return [y for y in range(first, up_to + 1) if year_policy(y).clock_lists_missing_report]


def report_cause(uscc: str, year: int) -> str:
    """The cause of the listing for an agency's missing report of a year; listing ids derive
    from causes, so it names the agency as well as the year."""
    return f"annual-report:{uscc}:{year}"


def exempt(registered_on: dt.date, year: int, policy: InspectionPolicy) -> bool:
    """Registered less than six months before 31 December of the year: no inspection that year.

    Registered on 30 June (exactly six months before) is not exempt; on 1 July it is.
    """
    return registered_on > last_registration_day(year, policy)


def last_registration_day(year: int, policy: InspectionPolicy) -> dt.date:
    """The last registration day that still owes the year's report (30 June by default)."""
    return add_months(dt.date(year, 12, 31), -policy.exempt_months_before_year_end)


def grade_validity(
    announced_on: dt.date, policy: GradePolicy | None = None
) -> tuple[dt.date, dt.date]:
    """Valid from and to (inclusive) by the rule in force on the announcement date."""
    rule = policy or grade_policy(announced_on)
    if rule.rule == "from_announcement":
        return announced_on, add_months(announced_on, 12 * rule.years) - dt.timedelta(days=1)
    start = dt.date(announced_on.year + 1, 1, 1)
    return start, dt.date(start.year + rule.years - 1, 12, 31)


def revocation_proposed(
    registered_on: dt.date,
    conclusions: Iterable[tuple[int, InspectionConclusion]],
    up_to_year: int,
) -> list[int]:
    """Years ending a run of consecutive non-participation or failure long enough to propose
    revocation (two consecutive years by default). A year without a conclusion counts as
    non-participation unless the agency was exempt that year."""
    by_year: dict[int, list[InspectionConclusion]] = {}
    for year, conclusion in conclusions:
        by_year.setdefault(year, []).append(conclusion)
    proposals: list[int] = []
    run = 0
    for year in range(registered_on.year, up_to_year + 1):
        policy = year_policy(year)
        if exempt(registered_on, year, policy):
            run = 0
            continue
        results = by_year.get(year)
        # The latest conclusion of the year counts (a late report replaces "not filed").
        failed = results is None or results[-1] in FAILING
        run = run + 1 if failed else 0
        if run >= policy.consecutive_failures_for_revocation:
            proposals.append(year)
    return proposals
