"""The annual-report cycle as facts and the compliance calendar (issue 11 §3).

Working year 2023: the sponsor's preliminary review is due 2024-03-31 (a Sunday: moved to Monday
2024-04-01, §203) and the filing 2024-05-31 (a Friday)."""

from __future__ import annotations

import datetime as dt

import pytest
from socialwork_contracts.supervision import AnnualReportFiled, AnnualReportPreliminarilyReviewed

from services.supervision.domain.calendar import Stay, compliance_calendar
from services.supervision.domain.commands import (
    AwardEvaluationGrade,
    FileAnnualReport,
    MarkAnnualReportOverdue,
    OrderRectification,
    RecordSponsorReview,
)
from tests.domain_spec import event_types
from tests.supervision.conftest import USCC, CreditFileGiven
from tests.supervision.test_file_records import clock_cycle, violation  # noqa: F401 - fixture

D = dt.date


def review(on: dt.date) -> RecordSponsorReview:
    return RecordSponsorReview(
        uscc=USCC, year=2023, sponsor="郑州市民政局", opinion="同意报送", reviewed_on=on
    )


def filing(on: dt.date) -> FileAnnualReport:
    return FileAnnualReport(uscc=USCC, year=2023, filed_on=on)


@pytest.mark.parametrize(("on", "late"), [(D(2024, 4, 1), False), (D(2024, 4, 2), True)])
def test_the_sponsor_review_deadline_moves_past_a_sunday(
    given: CreditFileGiven, on: dt.date, late: bool
) -> None:
    [event] = given.when(review(on)).events
    assert isinstance(event, AnnualReportPreliminarilyReviewed)
    assert (event.deadline, event.late) == (D(2024, 4, 1), late)
    given.when(review(on)).then_rejected()  # once a year


@pytest.mark.parametrize(("on", "late"), [(D(2024, 5, 31), False), (D(2024, 6, 1), True)])
def test_a_filing_records_whether_it_was_late(
    given: CreditFileGiven, on: dt.date, late: bool
) -> None:
    [event] = given.when(filing(on)).events
    assert isinstance(event, AnnualReportFiled)
    assert (event.deadline, event.late) == (D(2024, 5, 31), late)


def test_a_filing_within_the_working_year_is_refused(given: CreditFileGiven) -> None:
    caught = given.when(filing(D(2023, 12, 31))).then_rejected()
    assert [v.code for v in caught.violations] == ["date_too_early"]


@pytest.mark.usefixtures("clock_cycle")
def test_a_report_filed_in_time_is_not_listed_by_the_clock(given: CreditFileGiven) -> None:
    given.when(filing(D(2024, 5, 30)))
    given.when(
        MarkAnnualReportOverdue(uscc=USCC, year=2023, overdue_on=D(2024, 6, 1))
    ).then_refused()


@pytest.mark.usefixtures("clock_cycle")
def test_a_report_filed_late_is_still_listed(given: CreditFileGiven) -> None:
    given.when(filing(D(2024, 6, 1)))
    events = given.when(
        MarkAnnualReportOverdue(uscc=USCC, year=2023, overdue_on=D(2024, 6, 1))
    ).events
    assert event_types(events) == ["AnnualReportOverdue", "AgencyListed"]


def statuses(
    given: CreditFileGiven, as_of: dt.date, stays: list[Stay] | None = None
) -> dict[str, str]:
    items = compliance_calendar(given.state, USCC, D(2019, 3, 1), stays or [], as_of)
    return {f"{i.kind}:{i.ref}": f"{i.status}@{i.due_on}" for i in items}


def test_the_calendar_says_what_is_due_and_what_is_late(given: CreditFileGiven) -> None:
    assert statuses(given, D(2024, 3, 1)) == {
        "annual_report_sponsor_review:2023": "due@2024-04-01",
        "annual_report_filing:2023": "due@2024-05-31",
    }
    given.when(review(D(2024, 3, 20)))
    assert statuses(given, D(2024, 6, 1)) == {
        "annual_report_sponsor_review:2023": "done@2024-04-01",
        "annual_report_filing:2023": "late@2024-05-31",
    }
    given.when(filing(D(2024, 6, 3)))
    assert statuses(given, D(2024, 6, 3))["annual_report_filing:2023"] == "done_late@2024-05-31"


def test_the_calendar_holds_rectifications_grades_and_agreements(given: CreditFileGiven) -> None:
    given.when(violation(severity="minor", found_on=D(2024, 4, 8)))
    given.when(
        OrderRectification(
            uscc=USCC,
            rectification_id="r1",
            violation_id="v1",
            requirements="恢复办公室原状",
            deadline=D(2024, 6, 15),  # a Saturday: moved to Monday 2024-06-17
            ordered_on=D(2024, 4, 10),
        )
    )
    given.when(
        AwardEvaluationGrade(uscc=USCC, evaluation_id="g1", grade=3, announced_on=D(2019, 6, 1))
    )
    stays = [
        Stay("inc-1", "b1", D(2024, 7, 2), None),
        Stay("inc-0", "b0", D(2021, 1, 1), D(2021, 1, 1)),
    ]
    found = statuses(given, D(2024, 6, 17), stays)
    assert found["rectification:r1"] == "due@2024-06-17"
    assert found["grade_expiry:g1"].startswith("late@")  # a 2019 grade has expired
    assert found["agreement_expiry:inc-1"] == "due@2024-07-02"
    assert "agreement_expiry:inc-0" not in found  # a stay that ended owes nothing
    assert statuses(given, D(2024, 6, 18), stays)["rectification:r1"] == "late@2024-06-17"
    assert statuses(given, D(2024, 7, 3), stays)["agreement_expiry:inc-1"] == "late@2024-07-02"
