"""Agreement, move-in, extension: office and term rules, both sides of each date boundary."""

from __future__ import annotations

import pytest

from servicekit.decisions import DomainRejected
from services.incubation.domain.commands import ExtendIncubation, StartIncubation
from tests.incubation.given import (
    INC_ID,
    D,
    agency,
    approved,
    given,
    incubating,
    sign_command,
    signed,
    situation,
)


def codes(exc: DomainRejected) -> set[str]:
    return {v.code for v in exc.violations}


def test_signing_assigns_the_office_and_records_the_obligations() -> None:
    events, state = given(approved()).when(sign_command()).outcome
    assert state.status == "signed" and state.office_id == "301"
    assert "no_office_subletting_or_sharing" in events[0].obligations
    assert events[0].standard_version == 1


def test_one_agency_per_office() -> None:
    refused = (
        given(approved(), situation(occupied_offices=frozenset({"301"})))
        .when(sign_command())
        .then_rejected()
    )
    assert codes(refused) == {"office_occupied"}
    given(approved(), situation(occupied_offices=frozenset({"301"}))).when(
        sign_command(office_id="302")
    ).then_accepted()


def test_the_shared_room_and_unknown_offices_cannot_be_assigned() -> None:
    for office in ("305", "999"):
        refused = given(approved()).when(sign_command(office_id=office)).then_rejected()
        assert codes(refused) == {"office_not_allottable"}


def test_an_agreement_cannot_start_before_it_is_signed() -> None:
    refused = (
        given(approved())
        .when(sign_command(term_start=D(2023, 6, 19), signed_on=D(2023, 6, 20)))
        .then_rejected()
    )
    assert codes(refused) == {"term_start_too_early"}
    given(approved()).when(
        sign_command(term_start=D(2023, 6, 20), signed_on=D(2023, 6, 20))
    ).then_accepted()


def test_an_agreement_cannot_end_before_it_starts() -> None:
    refused = (
        given(approved())
        .when(sign_command(term_start=D(2023, 7, 3), term_end=D(2023, 7, 2)))
        .then_rejected()
    )
    assert codes(refused) == {"term_end_too_early"}
    given(approved()).when(
        sign_command(term_start=D(2023, 7, 3), term_end=D(2023, 7, 3))
    ).then_accepted()


def test_only_an_approved_application_is_signed() -> None:
    given(signed()).when(sign_command()).then_refused()


@pytest.mark.parametrize(
    ("day", "ok"),
    [(D(2023, 7, 2), False), (D(2023, 7, 3), True), (D(2024, 7, 2), True), (D(2024, 7, 3), False)],
)
def test_move_in_within_the_inclusive_term(day: object, ok: bool) -> None:
    command = StartIncubation.model_validate({"incubation_id": INC_ID, "started_on": day})
    if ok:
        events, state = given(signed()).when(command).outcome
        assert state.status == "incubating" and events[0].office_id == "301"
    else:
        given(signed()).when(command).then_rejected()


def test_move_in_refused_once_the_agency_is_revoked_or_listed() -> None:
    command = StartIncubation(incubation_id=INC_ID, started_on=D(2023, 7, 3))
    for situation_now in (
        situation(agency=agency("revoked")),
        situation(agency=agency(lists=("serious",))),
    ):
        given(signed(), situation_now).when(command).then_rejected()


def test_extension_signed_by_the_last_day_of_the_term() -> None:
    extend = ExtendIncubation(
        incubation_id=INC_ID,
        agreement_id="agr-2",
        term_end=D(2025, 7, 2),
        extended_on=D(2024, 7, 2),
    )
    events, state = given(incubating()).when(extend).outcome
    assert events[0].previous_term_end == D(2024, 7, 2)
    assert state.agreement is not None and state.agreement.term_end == D(2025, 7, 2)
    refused = (
        given(incubating())
        .when(extend.model_copy(update={"extended_on": D(2024, 7, 3)}))
        .then_rejected()
    )
    assert codes(refused) == {"extended_on_too_early"}
    refused = (
        given(incubating())
        .when(extend.model_copy(update={"term_end": D(2024, 7, 2)}))
        .then_rejected()
    )
    assert codes(refused) == {"term_end_not_later"}


def test_no_agreement_once_the_agency_is_revoked_or_listed_after_approval() -> None:
    for now in (situation(agency=agency("revoked")), situation(agency=agency(lists=("abnormal",)))):
        refused = given(approved(), now).when(sign_command()).then_rejected()
        assert codes(refused) & {"agency_not_active", "agency_listed"}
