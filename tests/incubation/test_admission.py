"""Applying, reviewing and admitting: every admission invariant, each tried and broken."""

from __future__ import annotations

import dataclasses

import pytest

from servicekit.decisions import DomainRejected
from services.incubation.domain.commands import (
    ApproveApplication,
    RejectApplication,
    ReviewApplication,
    SubmitApplication,
)
from tests.incubation.given import (
    BASE_ID,
    CALL_ID,
    INC_ID,
    USCC,
    D,
    agency,
    given,
    ready_base,
    reviewed,
    situation,
    submitted,
)


def codes(exc: DomainRejected) -> set[str]:
    return {v.code for v in exc.violations}


def submit(**changes: object) -> SubmitApplication:
    fields: dict[str, object] = {
        "incubation_id": INC_ID,
        "base_id": BASE_ID,
        "call_id": CALL_ID,
        "uscc": USCC,
        "submitted_on": D(2023, 4, 10),
        **changes,
    }
    return SubmitApplication.model_validate(fields)


APPROVE = ApproveApplication(incubation_id=INC_ID, opinion="准予入孵", approved_on=D(2023, 6, 1))


def test_a_local_active_agency_applies() -> None:
    events, state = given(None).when(submit()).outcome
    assert events[0].local is True and events[0].agency_name == "同心社会工作服务中心"
    assert state.status == "submitted"


def test_an_agency_unknown_to_the_registry_cannot_apply() -> None:
    refused = given(None, situation(agency=None)).when(submit()).then_rejected()
    assert codes(refused) == {"agency_not_registered"}


@pytest.mark.parametrize("status", ["suspended", "deregistered", "revoked"])
def test_an_agency_that_is_not_active_cannot_apply_nor_be_approved(status: str) -> None:
    refused = given(None, situation(agency=agency(status))).when(submit()).then_rejected()
    assert codes(refused) == {"agency_not_active"}
    refused = given(reviewed(), situation(agency=agency(status))).when(APPROVE).then_rejected()
    assert codes(refused) == {"agency_not_active"}


@pytest.mark.parametrize("listed", ["abnormal", "serious"])
def test_an_agency_on_a_credit_list_cannot_apply_nor_be_admitted(listed: str) -> None:
    refused = given(None, situation(agency=agency(lists=(listed,)))).when(submit()).then_rejected()
    assert codes(refused) == {"agency_listed"}
    refused = (
        given(reviewed(), situation(agency=agency(lists=(listed,)))).when(APPROVE).then_rejected()
    )
    assert codes(refused) == {"agency_listed"}


def test_an_agency_already_holding_a_place_cannot_apply_nor_be_approved_again() -> None:
    refused = given(None, situation(agency_holding=("other",))).when(submit()).then_rejected()
    assert codes(refused) == {"agency_already_incubating"}
    refused = given(reviewed(), situation(agency_holding=("other",))).when(APPROVE).then_rejected()
    assert codes(refused) == {"agency_already_incubating"}


def test_the_call_window_includes_both_ends() -> None:
    given(None).when(submit(submitted_on=D(2023, 4, 1))).then_accepted()
    given(None).when(submit(submitted_on=D(2023, 4, 30))).then_accepted()
    for outside in (D(2023, 3, 31), D(2023, 5, 1)):
        refused = given(None).when(submit(submitted_on=outside)).then_rejected()
        assert codes(refused) == {"call_not_open"}


def test_a_non_local_agency_needs_a_recorded_reason() -> None:
    elsewhere = situation(agency=agency(unit="erqi"))
    refused = given(None, elsewhere).when(submit()).then_rejected()
    assert codes(refused) == {"non_local_reason_missing"}
    events, _ = given(None, elsewhere).when(submit(non_local_reason="服务金水区流动人口")).outcome
    assert events[0].local is False and events[0].non_local_reason == "服务金水区流动人口"


def test_an_unknown_call_or_base_is_not_found() -> None:
    missing = given(None).when(submit(call_id="nope")).then_refused()
    assert missing.code == "call_not_found"
    missing = given(None, situation(base=None)).when(submit()).then_refused()
    assert missing.code == "base_not_found"


def test_review_stages_go_in_order() -> None:
    wrong = (
        given(submitted())
        .when(
            ReviewApplication(
                incubation_id=INC_ID, stage="panel_review", opinion="好", reviewed_on=D(2023, 5, 1)
            )
        )
        .then_refused()
    )
    assert wrong.code == "review_out_of_order"


def test_approval_needs_every_review_stage() -> None:
    refused = given(submitted()).when(APPROVE).then_rejected()
    assert codes(refused) == {"review_incomplete"}
    assert given(reviewed()).when(APPROVE).state.status == "approved"


def test_no_admission_beyond_the_offices_available() -> None:
    # Two allottable offices (301, 302); the shared room 305 does not count.
    given(reviewed(), situation(base_holding=1)).when(APPROVE).then_accepted()
    refused = (
        given(reviewed(), situation(base_holding=2, call_approved=0)).when(APPROVE).then_rejected()
    )
    assert codes(refused) == {"no_office_available"}


def test_no_admission_beyond_the_places_of_the_call() -> None:
    given(reviewed(), situation(call_approved=1)).when(APPROVE).then_accepted()
    refused = given(reviewed(), situation(call_approved=2)).when(APPROVE).then_rejected()
    assert codes(refused) == {"call_places_full"}


def test_a_base_below_standard_cannot_admit() -> None:
    refused = (
        given(reviewed(), situation(base=ready_base(fire_safety_compliant=False)))
        .when(APPROVE)
        .then_rejected()
    )
    assert codes(refused) == {"fire_safety_not_compliant"}


def test_rejection_records_reasons_and_the_stage() -> None:
    events, state = (
        given(submitted())
        .when(
            RejectApplication(
                incubation_id=INC_ID, reasons=("服务方案不成熟",), rejected_on=D(2023, 4, 20)
            )
        )
        .outcome
    )
    assert state.status == "rejected" and events[0].reasons == ["服务方案不成熟"]
    assert events[0].stage is None
    given(submitted()).when(
        RejectApplication(incubation_id=INC_ID, reasons=(" ",), rejected_on=D(2023, 4, 20))
    ).then_rejected()
    given(state).when(APPROVE).then_refused()


def test_any_agency_of_the_city_is_local_to_a_city_level_base() -> None:
    """domain.md target 2: a city-level base's locality is the whole city."""
    city_base = dataclasses.replace(ready_base(), level="city")
    events, _ = (
        given(None, situation(base=city_base, agency=agency(unit="erqi"))).when(submit()).outcome
    )
    assert events[0].local is True and events[0].non_local_reason is None
