"""The annual cycle: sponsor review, filing, the overdue report and the inspection's conclusion."""

from __future__ import annotations

import datetime as dt
from typing import TypeAlias, assert_never

from socialwork_contracts.base import DomainEvent
from socialwork_contracts.periods import UnknownCalendarYear
from socialwork_contracts.supervision import (
    AnnualInspectionConcluded,
    AnnualReportFiled,
    AnnualReportOverdue,
    AnnualReportPreliminarilyReviewed,
)

from servicekit.decisions import DomainRejected, InvalidTransition, RuleViolation, reject_any
from services.supervision.domain import inspection as inspection_rules
from services.supervision.domain import rules
from services.supervision.domain.commands import (
    ConcludeAnnualInspection,
    FileAnnualReport,
    KnownAgency,
    MarkAnnualReportOverdue,
    RecordSponsorReview,
)
from services.supervision.domain.credit_file import CreditFile
from services.supervision.domain.guards import (
    exempt_year,
    known,
    new_id,
    overdue_on,
    required_text,
)
from services.supervision.domain.listing_entry import delist_if_rectified, enter_list
from services.supervision.domain.periods import last_day, overdue_from

NOT_FILED = rules.ListingGround("abnormal", "annual_report_not_filed", "未按时报送年度工作报告")

AnnualCommand: TypeAlias = (
    ConcludeAnnualInspection | MarkAnnualReportOverdue | RecordSponsorReview | FileAnnualReport
)


def decide_annual(
    state: CreditFile | None, command: AnnualCommand, agency: KnownAgency | None
) -> list[DomainEvent]:
    """The events of the annual cycle; every one of them needs a known agency."""
    match command:
        case ConcludeAnnualInspection():
            return conclude_inspection(state, command, known(agency, command.uscc))
        case MarkAnnualReportOverdue():
            return mark_report_overdue(state, command, known(agency, command.uscc))
        case RecordSponsorReview():
            return [record_sponsor_review(state, command, known(agency, command.uscc))]
        case FileAnnualReport():
            return [file_report(state, command, known(agency, command.uscc))]
        case _:
            assert_never(command)


def conclude_inspection(
    state: CreditFile | None, command: ConcludeAnnualInspection, agency: KnownAgency
) -> list[DomainEvent]:
    policy = inspection_rules.year_policy(command.year)
    problems = new_id(state, "inspection_id", command.inspection_id)
    if command.conclusion not in inspection_rules.CONCLUSIONS_BY_MODE[policy.mode]:
        problems.append(
            RuleViolation(
                "conclusion_not_in_mode",
                "conclusion",
                f"{command.year}年度适用{policy.mode}模式，结论不符",
                f"year {command.year} uses the {policy.mode} mode",
            )
        )
    problems += exempt_year(agency.registered_on, command.year, policy)
    if command.concluded_on.year <= command.year - 1:
        problems.append(
            RuleViolation("date_too_early", "concluded_on", "结论日期早于年度", "before the year")
        )
    earlier = [i for i in (state.inspections if state else ()) if i.year == command.year]
    if earlier and earlier[-1].conclusion != "not_filed":
        problems.append(
            RuleViolation("already_concluded", "year", "该年度已有结论", "year already concluded")
        )
    reject_any(problems)
    concluded = AnnualInspectionConcluded(
        inspection_id=command.inspection_id,
        uscc=command.uscc,
        year=command.year,
        conclusion=command.conclusion,
        remarks=command.remarks,
        concluded_on=command.concluded_on,
    )
    events: list[DomainEvent] = [concluded]
    if command.conclusion == "not_filed":
        events += enter_list(
            state, command.uscc, NOT_FILED, command.inspection_id, command.concluded_on
        )
    elif earlier and state is not None:
        events += delist_if_rectified(state, earlier[-1].inspection_id, concluded)
    elif state is not None and command.year in state.overdue_reports:
        cause = inspection_rules.report_cause(command.uscc, command.year)
        events += delist_if_rectified(state, cause, concluded)
    return events


def mark_report_overdue(
    state: CreditFile | None, command: MarkAnnualReportOverdue, agency: KnownAgency
) -> list[DomainEvent]:
    """Time alone: no report of the working year by its deadline -> the abnormal list
    (ground `annual_report_not_filed`), whichever annual mode applies that year."""
    year = command.year
    policy = inspection_rules.year_policy(year)
    if not policy.clock_lists_missing_report:
        raise InvalidTransition(
            "clock_not_in_force",
            f"{year}年度的年报逾期不由系统自动列入",
            f"the clock does not list a missing report of {year} (recorded by hand then)",
        )
    file = state or CreditFile(uscc=command.uscc)
    if inspection_rules.exempt(agency.registered_on, year, policy):
        raise InvalidTransition("exempt_year", "该年度免于年检", f"exempt for {year}")
    if (
        any(i.year == year for i in file.inspections)
        or year in file.overdue_reports
        or file.filed_in_time(year)  # filed by the deadline: nothing is missing
    ):
        raise InvalidTransition(
            "report_recorded", "该年度已有结论或已逾期", f"{year} already concluded or overdue"
        )
    deadline = last_day(inspection_rules.filing_deadline(year, policy))
    overdue_on(command.overdue_on, overdue_from(deadline), "report")
    overdue = AnnualReportOverdue(
        uscc=command.uscc, year=year, deadline=deadline, overdue_on=command.overdue_on
    )
    cause = inspection_rules.report_cause(command.uscc, year)
    return [overdue, *enter_list(state, command.uscc, NOT_FILED, cause, command.overdue_on)]


def _cycle_checks(
    state: CreditFile | None, uscc: str, year: int, day: dt.date, agency: KnownAgency
) -> list[RuleViolation]:
    problems = exempt_year(agency.registered_on, year, inspection_rules.year_policy(year))
    if day.year <= year:
        problems.append(
            RuleViolation("date_too_early", "year", "日期应在该年度之后", "after the working year")
        )
    return problems


def _deadline(deadline: dt.date) -> dt.date:
    """The inclusive deadline moved past a day off (§203); UnknownCalendarYear → 422."""
    try:
        return last_day(deadline)
    except UnknownCalendarYear as exc:
        raise DomainRejected(
            [RuleViolation("calendar_unknown", "year", exc.message_zh, str(exc))]
        ) from exc


def record_sponsor_review(
    state: CreditFile | None, command: RecordSponsorReview, agency: KnownAgency
) -> AnnualReportPreliminarilyReviewed:
    """业务主管单位初审 of a working year's report: once; late when after the deadline."""
    file = state or CreditFile(uscc=command.uscc)
    problems = _cycle_checks(state, command.uscc, command.year, command.reviewed_on, agency)
    problems += required_text("sponsor", command.sponsor, "业务主管单位")
    problems += required_text("opinion", command.opinion, "初审意见")
    if file.sponsor_reviewed(command.year) is not None:
        problems.append(
            RuleViolation("already_reviewed", "year", "该年度已有初审", "already reviewed")
        )
    reject_any(problems)
    policy = inspection_rules.year_policy(command.year)
    deadline = _deadline(inspection_rules.sponsor_review_deadline(command.year, policy))
    return AnnualReportPreliminarilyReviewed(
        uscc=command.uscc,
        year=command.year,
        sponsor=command.sponsor,
        opinion=command.opinion,
        reviewed_on=command.reviewed_on,
        deadline=deadline,
        late=command.reviewed_on > deadline,
    )


def file_report(
    state: CreditFile | None, command: FileAnnualReport, agency: KnownAgency
) -> AnnualReportFiled:
    """报送: the report reached civil affairs; once; late when after the deadline (a report
    filed before the deadline keeps the clock from listing the agency)."""
    file = state or CreditFile(uscc=command.uscc)
    problems = _cycle_checks(state, command.uscc, command.year, command.filed_on, agency)
    if file.filed(command.year) is not None:
        problems.append(RuleViolation("already_filed", "year", "该年度已报送", "already filed"))
    reject_any(problems)
    policy = inspection_rules.year_policy(command.year)
    deadline = _deadline(inspection_rules.filing_deadline(command.year, policy))
    return AnnualReportFiled(
        uscc=command.uscc,
        year=command.year,
        filed_on=command.filed_on,
        deadline=deadline,
        late=command.filed_on > deadline,
    )
