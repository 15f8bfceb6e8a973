"""Violations, inspections and grades in the credit file."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest
from socialwork_contracts.supervision import (
    AgencyListed,
    CommendationRecorded,
    EvaluationGradeAwarded,
    FollowUpEvaluationRecorded,
    GovernmentProjectRecorded,
    ProjectPerformanceEvaluated,
    ViolationRecorded,
)

from services.supervision.domain import inspection
from services.supervision.domain.commands import (
    AwardEvaluationGrade,
    ConcludeAnnualInspection,
    EvaluateProjectPerformance,
    KnownAgency,
    MarkAnnualReportOverdue,
    RecordCommendation,
    RecordFollowUpEvaluation,
    RecordGovernmentProject,
    RecordViolation,
)
from services.supervision.domain.policy import InspectionPolicy, inspection_policy
from services.supervision.report import credit_file_view
from tests.domain_spec import event_types
from tests.supervision.conftest import BASE, CREDIT_FILE, USCC, CreditFileGiven
from tests.supervision.test_credit_lists import penalty as penalty_of

D = dt.date


def violation(**over: object) -> RecordViolation:
    body: dict[str, object] = {
        "uscc": USCC,
        "violation_id": "v1",
        "category": "office_subletting",
        "severity": "serious",
        "facts": "转借办公室",
        "evidence_ref": "JC-1",
        "found_on": D(2024, 4, 8),
    }
    return RecordViolation.model_validate({**body, **over})


def test_violation_carries_the_base_of_a_resident_agency(given: CreditFileGiven) -> None:
    (event,) = given.when(violation()).events
    assert isinstance(event, ViolationRecorded) and event.base_id == BASE


def test_violation_of_an_unknown_agency_is_refused() -> None:
    refused = CREDIT_FILE.given(context=None).when(violation()).then_refused()
    assert refused.code == "agency_not_found"


def test_violation_needs_a_known_category_and_facts(given: CreditFileGiven) -> None:
    refused = given.when(violation(category="jaywalking", facts=" ")).then_rejected()
    assert {v.code for v in refused.violations} == {"unknown_category", "required"}


def test_ids_are_not_reused(given: CreditFileGiven) -> None:
    given.when(violation())
    given.when(violation()).then_rejected()


@pytest.mark.parametrize(
    ("registered_on", "exempt"), [(D(2023, 6, 30), False), (D(2023, 7, 1), True)]
)
def test_six_month_exemption_boundary(registered_on: dt.date, exempt: bool) -> None:
    assert inspection.exempt(registered_on, 2023, inspection_policy(D(2023, 12, 31))) is exempt


def test_exempt_year_refused(given: CreditFileGiven) -> None:
    given.context = KnownAgency(USCC, "x", "jinshui", D(2023, 7, 1), "active")
    command = ConcludeAnnualInspection(
        uscc=USCC, inspection_id="i1", year=2023, conclusion="qualified", concluded_on=D(2024, 5, 1)
    )
    refused = given.when(command).then_rejected()
    assert refused.violations[0].code == "exempt_year"


def test_conclusion_must_match_the_mode(given: CreditFileGiven) -> None:
    refused = given.when(
        ConcludeAnnualInspection(
            uscc=USCC,
            inspection_id="i1",
            year=2023,
            conclusion="filed",
            concluded_on=D(2024, 5, 1),
        )
    ).then_rejected()
    assert refused.violations[0].code == "conclusion_not_in_mode"


@pytest.mark.parametrize(
    ("years", "proposed"),
    [
        ({2020: "qualified", 2021: "unqualified", 2022: "qualified"}, []),
        ({2020: "qualified", 2021: "unqualified"}, [2022]),  # 2022 missing: non-participation
        ({2020: "unqualified", 2021: "unqualified", 2022: "basically_qualified"}, [2021]),
    ],
)
def test_two_consecutive_failures_propose_revocation(
    years: dict[int, str], proposed: list[int]
) -> None:
    found = inspection.revocation_proposed(
        D(2019, 3, 1),
        [(2019, "qualified"), *years.items()],  # type: ignore[list-item]
        2022,
    )
    assert found == proposed


def test_grade_validity_by_the_rule_on_the_announcement_date(given: CreditFileGiven) -> None:
    (old,) = given.when(
        AwardEvaluationGrade(uscc=USCC, evaluation_id="e1", grade=4, announced_on=D(2026, 2, 28))
    ).events
    (new,) = given.when(
        AwardEvaluationGrade(uscc=USCC, evaluation_id="e2", grade=5, announced_on=D(2026, 3, 1))
    ).events
    assert isinstance(old, EvaluationGradeAwarded) and isinstance(new, EvaluationGradeAwarded)
    assert (old.valid_from, old.valid_to) == (D(2026, 2, 28), D(2031, 2, 27))
    assert (new.valid_from, new.valid_to) == (D(2027, 1, 1), D(2031, 12, 31))


def test_annual_report_mode_not_filed_lists_and_a_late_filing_ends_it(
    given: CreditFileGiven, monkeypatch: pytest.MonkeyPatch
) -> None:
    annual_report = InspectionPolicy(valid_from=D(2020, 1, 1), mode="annual_report")
    monkeypatch.setattr(inspection, "year_policy", lambda year: annual_report)
    events = given.when(
        ConcludeAnnualInspection(
            uscc=USCC,
            inspection_id="i1",
            year=2023,
            conclusion="not_filed",
            concluded_on=D(2024, 7, 1),
        )
    ).events
    assert isinstance(events[1], AgencyListed)
    assert events[1].ground == "annual_report_not_filed"
    late = given.when(
        ConcludeAnnualInspection(
            uscc=USCC, inspection_id="i2", year=2023, conclusion="filed", concluded_on=D(2024, 8, 1)
        )
    ).events
    assert event_types(late) == ["AnnualInspectionConcluded", "AgencyDelisted"]


def test_follow_up_only_after_graduation(given: CreditFileGiven, agency: KnownAgency) -> None:
    command = RecordFollowUpEvaluation(
        uscc=USCC,
        evaluation_id="f1",
        findings="独立运营良好",
        conclusion="good",
        evaluated_on=D(2025, 6, 30),
    )
    refused = given.when(command).then_rejected()
    assert refused.violations[0].code == "not_graduated"
    given.context = replace(agency, graduated_from=BASE, graduated_on=D(2025, 7, 1))
    given.when(command).then_rejected()  # evaluated the day before graduating
    given.context = replace(agency, graduated_from=BASE, graduated_on=D(2025, 6, 30))
    (event,) = given.when(command).events
    assert isinstance(event, FollowUpEvaluationRecorded) and event.base_id == BASE


def test_projects_and_their_performance_keep_exact_amounts(given: CreditFileGiven) -> None:
    (project,) = given.when(
        RecordGovernmentProject(
            uscc=USCC,
            project_id="g1",
            name="社区居家养老服务项目",
            purchaser="郑州市金水区民政局",
            amount_yuan=Decimal("180000.1"),
            start_on=D(2024, 3, 1),
            end_on=D(2025, 2, 28),
        )
    ).events
    assert isinstance(project, GovernmentProjectRecorded) and project.amount_yuan == "180000.10"
    given.when(
        EvaluateProjectPerformance(
            uscc=USCC,
            evaluation_id="e1",
            project_id="nope",
            project_name="x",
            score=Decimal("86.5"),
            conclusion="good",
            evaluator="评估中心",
            evaluated_on=D(2025, 3, 20),
        )
    ).then_rejected()
    (evaluation,) = given.when(
        EvaluateProjectPerformance(
            uscc=USCC,
            evaluation_id="e1",
            project_id="g1",
            project_name="社区居家养老服务项目",
            score=Decimal("86.50"),
            conclusion="good",
            evaluator="评估中心",
            evaluated_on=D(2025, 3, 20),
        )
    ).events
    assert isinstance(evaluation, ProjectPerformanceEvaluated) and evaluation.score == "86.5"
    (honour,) = given.when(
        RecordCommendation(
            uscc=USCC,
            commendation_id="c1",
            title="优秀社会工作服务机构",
            awarding_body="郑州市民政局",
            awarded_on=D(2023, 12, 20),
        )
    ).events
    assert isinstance(honour, CommendationRecorded)
    assert given.state is not None and len(given.state.projects) == 1


def grade_status(given: CreditFileGiven, day: dt.date) -> tuple[str | None, list[str]]:
    view = credit_file_view(given.state, given.context, day, USCC)
    current = view["current_grade"]
    return (current["status"] if current else None), [g["status"] for g in view["grades"]]


def test_an_expired_grade_is_shown_as_expired(given: CreditFileGiven) -> None:
    given.when(
        AwardEvaluationGrade(uscc=USCC, evaluation_id="e1", grade=4, announced_on=D(2020, 5, 1))
    )  # valid 2020-05-01 .. 2025-04-30
    assert grade_status(given, D(2025, 4, 30)) == ("valid", ["valid"])
    assert grade_status(given, D(2025, 5, 1)) == (None, ["expired"])
    assert grade_status(given, D(2020, 4, 30)) == (None, ["not_yet_valid"])


def test_the_serious_list_suspends_a_grade_while_it_lasts(given: CreditFileGiven) -> None:
    """Grade rule (configurable, GradePolicy.on_serious_listing): a grade is not to be relied
    on while the agency is on the serious list; lowering or cancelling it is the evaluation
    committee's decision, recorded as a new grade."""
    given.when(
        AwardEvaluationGrade(uscc=USCC, evaluation_id="e1", grade=4, announced_on=D(2022, 5, 1))
    )
    given.when(penalty_of("p1", "fine", D(2023, 3, 1), amount="60000"))  # serious list
    assert grade_status(given, D(2023, 2, 28)) == ("valid", ["valid"])
    assert grade_status(given, D(2023, 3, 1)) == ("suspended", ["suspended"])


# -- the annual cycle: a missing report by time alone -----------------------------------------


@pytest.fixture
def clock_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The clock runs the cycle for working year 2023 (reports due 2024-05-31, a Friday)."""
    policy = InspectionPolicy(
        valid_from=D(2023, 1, 1), mode="inspection", clock_lists_missing_report=True
    )
    monkeypatch.setattr(inspection, "year_policy", lambda year: policy)


def overdue_2023(on: dt.date) -> MarkAnnualReportOverdue:
    return MarkAnnualReportOverdue(uscc=USCC, year=2023, overdue_on=on)


@pytest.mark.usefixtures("clock_cycle")
def test_a_missing_report_lists_the_day_after_the_deadline(given: CreditFileGiven) -> None:
    given.when(overdue_2023(D(2024, 5, 31))).then_rejected()  # the deadline day itself
    events = given.when(overdue_2023(D(2024, 6, 1))).events
    assert event_types(events) == ["AnnualReportOverdue", "AgencyListed"]
    listed = events[1]
    assert isinstance(listed, AgencyListed)
    assert (listed.list, listed.ground, listed.listed_on) == (
        "abnormal",
        "annual_report_not_filed",
        D(2024, 6, 1),
    )
    given.when(overdue_2023(D(2024, 6, 1))).then_refused()  # once per year


@pytest.mark.usefixtures("clock_cycle")
def test_a_late_report_ends_the_listing(given: CreditFileGiven) -> None:
    given.when(overdue_2023(D(2024, 6, 1)))
    events = given.when(
        ConcludeAnnualInspection(
            uscc=USCC,
            inspection_id="i-2023",
            year=2023,
            conclusion="qualified",
            concluded_on=D(2024, 7, 10),
        )
    ).events
    assert event_types(events) == ["AnnualInspectionConcluded", "AgencyDelisted"]


@pytest.mark.usefixtures("clock_cycle")
def test_a_concluded_or_exempt_year_is_not_overdue(
    given: CreditFileGiven, agency: KnownAgency
) -> None:
    given.when(
        ConcludeAnnualInspection(
            uscc=USCC, inspection_id="i-2023", year=2023, conclusion="qualified",
            concluded_on=D(2024, 5, 20),
        )
    )  # fmt: skip
    given.when(overdue_2023(D(2024, 6, 1))).then_refused()
    newcomer = CREDIT_FILE.given(
        context=replace(agency, registered_on=D(2023, 7, 1))
    )  # exempt for 2023
    newcomer.when(overdue_2023(D(2024, 6, 1))).then_refused()


def test_the_clock_lists_nobody_for_years_recorded_by_hand(given: CreditFileGiven) -> None:
    """The shipped configuration: years before 2026 were recorded by hand."""
    given.when(overdue_2023(D(2024, 6, 1))).then_refused()


@pytest.mark.usefixtures("clock_cycle")
def test_each_agencys_missing_report_is_its_own_listing(
    given: CreditFileGiven, agency: KnownAgency
) -> None:
    """Listing ids derive from the cause: the same year for two agencies is two listings."""
    other = "52410105MJ0A1B2C3X"
    second = CREDIT_FILE.given(context=replace(agency, uscc=other))
    mine = given.when(overdue_2023(D(2024, 6, 1))).events[1]
    theirs = second.when(
        MarkAnnualReportOverdue(uscc=other, year=2023, overdue_on=D(2024, 6, 1))
    ).events[1]
    assert isinstance(mine, AgencyListed) and isinstance(theirs, AgencyListed)
    assert mine.listing_id != theirs.listing_id
