"""Applying, reviewing and admitting: every admission invariant, each tried and broken."""

from __future__ import annotations

import dataclasses

import pytest

from servicekit.decisions import DomainRejected, InvalidTransition
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
    ready_base,
    reviewed,
    run,
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
    events, state = run(None, submit())
    assert events[0].local is True and events[0].agency_name == "同心社会工作服务中心"
    assert state.status == "submitted"


def test_an_agency_unknown_to_the_registry_cannot_apply() -> None:
    with pytest.raises(DomainRejected) as refused:
        run(None, submit(), situation(agency=None))
    assert codes(refused.value) == {"agency_not_registered"}


@pytest.mark.parametrize("status", ["suspended", "deregistered", "revoked"])
def test_an_agency_that_is_not_active_cannot_apply_nor_be_approved(status: str) -> None:
    with pytest.raises(DomainRejected) as refused:
        run(None, submit(), situation(agency=agency(status)))
    assert codes(refused.value) == {"agency_not_active"}
    with pytest.raises(DomainRejected) as refused:
        run(reviewed(), APPROVE, situation(agency=agency(status)))
    assert codes(refused.value) == {"agency_not_active"}


@pytest.mark.parametrize("listed", ["abnormal", "serious"])
def test_an_agency_on_a_credit_list_cannot_apply_nor_be_admitted(listed: str) -> None:
    with pytest.raises(DomainRejected) as refused:
        run(None, submit(), situation(agency=agency(lists=(listed,))))
    assert codes(refused.value) == {"agency_listed"}
    with pytest.raises(DomainRejected) as refused:
        run(reviewed(), APPROVE, situation(agency=agency(lists=(listed,))))
    assert codes(refused.value) == {"agency_listed"}


def test_an_agency_already_holding_a_place_cannot_apply_nor_be_approved_again() -> None:
    with pytest.raises(DomainRejected) as refused:
        run(None, submit(), situation(agency_holding=("other",)))
    assert codes(refused.value) == {"agency_already_incubating"}
    with pytest.raises(DomainRejected) as refused:
        run(reviewed(), APPROVE, situation(agency_holding=("other",)))
    assert codes(refused.value) == {"agency_already_incubating"}


def test_the_call_window_includes_both_ends() -> None:
    run(None, submit(submitted_on=D(2023, 4, 1)))
    run(None, submit(submitted_on=D(2023, 4, 30)))
    for outside in (D(2023, 3, 31), D(2023, 5, 1)):
        with pytest.raises(DomainRejected) as refused:
            run(None, submit(submitted_on=outside))
        assert codes(refused.value) == {"call_not_open"}


def test_a_non_local_agency_needs_a_recorded_reason() -> None:
    elsewhere = situation(agency=agency(unit="erqi"))
    with pytest.raises(DomainRejected) as refused:
        run(None, submit(), elsewhere)
    assert codes(refused.value) == {"non_local_reason_missing"}
    events, _ = run(None, submit(non_local_reason="服务金水区流动人口"), elsewhere)
    assert events[0].local is False and events[0].non_local_reason == "服务金水区流动人口"


def test_an_unknown_call_or_base_is_not_found() -> None:
    with pytest.raises(InvalidTransition) as missing:
        run(None, submit(call_id="nope"))
    assert missing.value.code == "call_not_found"
    with pytest.raises(InvalidTransition) as missing:
        run(None, submit(), situation(base=None))
    assert missing.value.code == "base_not_found"


def test_review_stages_go_in_order() -> None:
    with pytest.raises(InvalidTransition) as wrong:
        run(
            submitted(),
            ReviewApplication(
                incubation_id=INC_ID, stage="panel_review", opinion="好", reviewed_on=D(2023, 5, 1)
            ),
        )
    assert wrong.value.code == "review_out_of_order"


def test_approval_needs_every_review_stage() -> None:
    with pytest.raises(DomainRejected) as refused:
        run(submitted(), APPROVE)
    assert codes(refused.value) == {"review_incomplete"}
    assert run(reviewed(), APPROVE)[1].status == "approved"


def test_no_admission_beyond_the_offices_available() -> None:
    # Two allottable offices (301, 302); the shared room 305 does not count.
    run(reviewed(), APPROVE, situation(base_holding=1))
    with pytest.raises(DomainRejected) as refused:
        run(reviewed(), APPROVE, situation(base_holding=2, call_approved=0))
    assert codes(refused.value) == {"no_office_available"}


def test_no_admission_beyond_the_places_of_the_call() -> None:
    run(reviewed(), APPROVE, situation(call_approved=1))
    with pytest.raises(DomainRejected) as refused:
        run(reviewed(), APPROVE, situation(call_approved=2))
    assert codes(refused.value) == {"call_places_full"}


def test_a_base_below_standard_cannot_admit() -> None:
    with pytest.raises(DomainRejected) as refused:
        run(reviewed(), APPROVE, situation(base=ready_base(fire_safety_compliant=False)))
    assert codes(refused.value) == {"fire_safety_not_compliant"}


def test_rejection_records_reasons_and_the_stage() -> None:
    events, state = run(
        submitted(),
        RejectApplication(
            incubation_id=INC_ID, reasons=("服务方案不成熟",), rejected_on=D(2023, 4, 20)
        ),
    )
    assert state.status == "rejected" and events[0].reasons == ["服务方案不成熟"]
    assert events[0].stage is None
    with pytest.raises(DomainRejected):
        run(
            submitted(),
            RejectApplication(incubation_id=INC_ID, reasons=(" ",), rejected_on=D(2023, 4, 20)),
        )
    with pytest.raises(InvalidTransition):
        run(state, APPROVE)


def test_any_agency_of_the_city_is_local_to_a_city_level_base() -> None:
    """domain.md target 2: a city-level base's locality is the whole city."""
    city_base = dataclasses.replace(ready_base(), level="city")
    events, _ = run(None, submit(), situation(base=city_base, agency=agency(unit="erqi")))
    assert events[0].local is True and events[0].non_local_reason is None
