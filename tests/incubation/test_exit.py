"""Support, graduation against versioned criteria, termination."""

from __future__ import annotations

from decimal import Decimal

import pytest

from servicekit.decisions import DomainRejected
from services.incubation.domain.commands import GraduateAgency, RecordSupport, TerminateIncubation
from services.incubation.domain.criteria import (
    CriteriaVersion,
    Criterion,
    all_versions,
    criteria_on,
)
from services.incubation.domain.incubation import Incubation
from tests.incubation.given import INC_ID, D, agency, given, incubating, signed, situation


def codes(exc: DomainRejected) -> set[str]:
    return {v.code for v in exc.violations}


FUNDING = RecordSupport(
    incubation_id=INC_ID,
    support_type="funding",
    funding_type="venture_philanthropy",
    amount_yuan=Decimal("50000.00"),
    description="公益创投",
    given_on=D(2023, 9, 15),
)
ALL_MET = {c.id: True for c in all_versions()[0].assessed()}
GRADUATE = GraduateAgency(
    incubation_id=INC_ID,
    assessment=ALL_MET,
    assessment_summary="出壳评估通过",
    graduated_on=D(2024, 6, 30),
)


def funded() -> Incubation:
    return given(incubating()).when(FUNDING).state


def test_funding_is_recorded_in_exact_yuan() -> None:
    events, state = (
        given(incubating()).when(FUNDING.model_copy(update={"amount_yuan": Decimal("0.1")})).outcome
    )
    assert events[0].amount_yuan == "0.10" and state.funded_count == 1


def test_funding_needs_a_type_and_a_positive_amount_with_two_places() -> None:
    for bad in (
        {"funding_type": None},
        {"amount_yuan": None},
        {"amount_yuan": Decimal("0")},
        {"amount_yuan": Decimal("1.005")},
    ):
        given(incubating()).when(FUNDING.model_copy(update=bad)).then_rejected()


def test_no_funding_of_a_listed_agency_but_other_support_goes_on() -> None:
    listed = situation(agency=agency(lists=("abnormal",)))
    refused = given(incubating(), listed).when(FUNDING).then_rejected()
    assert codes(refused) == {"agency_listed"}
    advice = RecordSupport(
        incubation_id=INC_ID,
        support_type="guidance",
        description="整改辅导",
        given_on=D(2023, 9, 1),
    )
    given(incubating(), listed).when(advice).then_accepted()


def test_support_only_during_incubation_and_not_before_move_in() -> None:
    given(signed()).when(FUNDING).then_refused()
    given(incubating()).when(FUNDING.model_copy(update={"given_on": D(2023, 7, 2)})).then_rejected()


def test_graduation_against_the_criteria_in_force() -> None:
    events, state = given(funded()).when(GRADUATE).outcome
    assert state.status == "graduated" and events[0].criteria_version == "2018-1"
    assert events[0].office_id == "301"


def test_graduation_needs_every_assessed_criterion_met() -> None:
    partial = {**ALL_MET, "governance_in_place": False}
    refused = (
        given(funded()).when(GRADUATE.model_copy(update={"assessment": partial})).then_rejected()
    )
    assert codes(refused) == {"criterion_not_met:governance_in_place"}


def test_graduation_needs_a_funded_project_system_checked() -> None:
    refused = given(incubating()).when(GRADUATE).then_rejected()
    assert codes(refused) == {"criterion_not_met:funded_project"}


def test_no_graduation_of_a_listed_agency() -> None:
    refused = (
        given(funded(), situation(agency=agency(lists=("serious",)))).when(GRADUATE).then_rejected()
    )
    assert "agency_listed" in codes(refused)


def test_no_graduation_of_a_listed_agency_even_if_the_configuration_forgets_it() -> None:
    lax = CriteriaVersion("lax", D(2018, 1, 1), (Criterion("exit", "assessment", "评估", "exit"),))
    context = situation(agency=agency(lists=("abnormal",)), criteria=lax)
    refused = (
        given(funded(), context)
        .when(GRADUATE.model_copy(update={"assessment": {"exit": True}}))
        .then_rejected()
    )
    assert codes(refused) == {"agency_listed"}


def test_criteria_are_chosen_by_effective_date() -> None:
    v1 = CriteriaVersion("a", D(2018, 1, 8), ())
    v2 = CriteriaVersion("b", D(2026, 1, 1), ())
    assert criteria_on(D(2018, 1, 7), (v1, v2)) is None
    assert criteria_on(D(2018, 1, 8), (v1, v2)) == v1
    assert criteria_on(D(2025, 12, 31), (v1, v2)) == v1
    assert criteria_on(D(2026, 1, 1), (v1, v2)) == v2
    assert criteria_on(D(2024, 1, 1)) is not None


def test_termination_frees_the_office_from_signed_or_incubating() -> None:
    end = TerminateIncubation(
        incubation_id=INC_ID, reason="voluntary", detail="机构申请退出", terminated_on=D(2023, 8, 1)
    )
    for state in (signed(), incubating()):
        events, after = given(state).when(end).outcome
        assert after.status == "terminated" and events[0].office_id == "301"
    given(given(incubating()).when(end).state).when(end).then_refused()


def test_term_expired_only_after_the_last_day() -> None:
    end = TerminateIncubation(
        incubation_id=INC_ID,
        reason="term_expired",
        detail="期满未续驻",
        terminated_on=D(2024, 7, 2),
    )
    refused = given(incubating()).when(end).then_rejected()
    assert codes(refused) == {"term_not_expired"}
    given(incubating()).when(
        end.model_copy(update={"terminated_on": D(2024, 7, 3)})
    ).then_accepted()


def test_the_staff_ratio_is_checked_from_the_registrys_counts() -> None:
    """issue 11 §6: facts the platform holds decide, not a tick-box."""
    below = situation(agency=agency(staff=(9, 2)))
    refused = given(funded(), below).when(GRADUATE).then_rejected()
    assert codes(refused) == {"criterion_not_met:staff_ratio_met"}
    untick = {**ALL_MET, "staff_ratio_met": False}  # the counts decide, whatever is ticked
    given(funded(), situation(agency=agency(staff=(9, 3)))).when(
        GRADUATE.model_copy(update={"assessment": untick})
    ).then_accepted()


@pytest.mark.parametrize(
    ("conclusion", "passes"),
    [("qualified", True), ("filed", True), ("basically_qualified", False), ("unqualified", False),
     ("not_filed", False)],
)  # fmt: skip
def test_the_latest_annual_inspection_is_checked_from_supervision(
    conclusion: str, passes: bool
) -> None:
    context = situation(agency=agency(inspection=(2023, conclusion)))
    if passes:
        given(funded(), context).when(GRADUATE).then_accepted()
    else:
        refused = given(funded(), context).when(GRADUATE).then_rejected()
        assert codes(refused) == {"criterion_not_met:annual_inspection_passed"}


def test_without_a_recorded_conclusion_the_assessors_mark_decides() -> None:
    untick = {**ALL_MET, "annual_inspection_passed": False}
    refused = (
        given(funded()).when(GRADUATE.model_copy(update={"assessment": untick})).then_rejected()
    )
    assert codes(refused) == {"criterion_not_met:annual_inspection_passed"}
    given(funded()).when(GRADUATE).then_accepted()  # ticked, nothing recorded against it
