"""The base: hardware standard (guidance §3.2), standards, calls, training, closing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from servicekit.decisions import DomainRejected
from services.incubation.domain.commands import (
    AdoptAdmissionStandard,
    CloseBase,
    OfficeSpec,
    PublishCall,
    RecordTraining,
    UpdateFacilities,
)
from services.incubation.domain.incubation_base import IncubationBase
from services.incubation.domain.rules import allottable_offices, hardware_standard
from services.incubation.domain.situation import Situation
from tests.incubation.given import BASE_ID, OFFICES, D, establish, given_base, ready_base


def codes(exc: DomainRejected) -> set[str]:
    return {v.code for v in exc.violations}


def base_with(offices: tuple[OfficeSpec, ...], **changes: object) -> IncubationBase:
    return given_base(None).when(establish(offices=offices, **changes)).state


def call(**changes: object) -> PublishCall:
    fields: dict[str, object] = {
        "base_id": BASE_ID,
        "call_id": "call-2",
        "title": "第二批",
        "opens_on": D(2023, 9, 1),
        "closes_on": D(2023, 9, 30),
        "places": 1,
        "published_on": D(2023, 8, 20),
        **changes,
    }
    return PublishCall.model_validate(fields)


def test_establish_records_offices_as_exact_decimal_strings() -> None:
    events, base = given_base(None).when(establish()).outcome
    assert events[0].offices[1].area_m2 == "15.00"
    assert events[0].county_code == "410105"
    assert base.facilities.offices[0].area_m2 == Decimal("18.50")


def test_a_base_meeting_the_standard_has_no_shortfalls() -> None:
    assert hardware_standard(base_with(OFFICES).facilities) == []


def test_fewer_than_three_offices_of_15_m2_is_below_standard() -> None:
    small = (*OFFICES[:1], OfficeSpec(office_id="302", area_m2=Decimal("14.99")), OFFICES[2])
    assert {v.code for v in hardware_standard(base_with(small).facilities)} == {"too_few_offices"}
    # 15.00 exactly counts (不少于15m²: the bound is included).
    assert hardware_standard(base_with(OFFICES).facilities) == []


def test_a_shared_room_is_required_and_must_be_the_larger_room() -> None:
    no_shared = tuple(OfficeSpec(office_id=o.office_id, area_m2=o.area_m2) for o in OFFICES)
    assert "no_shared_room" in {v.code for v in hardware_standard(base_with(no_shared).facilities)}
    small_shared = (
        *OFFICES[:2],
        OfficeSpec(office_id="305", area_m2=Decimal("16"), shared_room=True),
    )
    assert "no_shared_room" in {
        v.code for v in hardware_standard(base_with(small_shared).facilities)
    }


@pytest.mark.parametrize(
    ("flag", "code"),
    [
        ("has_desks_and_chairs", "no_desks_and_chairs"),
        ("has_projector", "no_projector"),
        ("fire_safety_compliant", "fire_safety_not_compliant"),
    ],
)
def test_missing_equipment_is_below_standard(flag: str, code: str) -> None:
    base = base_with(OFFICES, **{flag: False})
    assert {v.code for v in hardware_standard(base.facilities)} == {code}


def test_the_shared_room_is_never_allotted() -> None:
    assert [r.office_id for r in allottable_offices(base_with(OFFICES).facilities)] == [
        "301",
        "302",
    ]


def test_a_base_below_standard_cannot_publish_a_call_and_says_why() -> None:
    base = ready_base(has_projector=False)
    refused = given_base(base).when(call()).then_rejected()
    assert "no_projector" in codes(refused)


def test_a_call_needs_an_admission_standard_in_force_when_it_opens() -> None:
    base = given_base(None).when(establish()).state
    refused = given_base(base).when(call()).then_rejected()
    assert "no_admission_standard" in codes(refused)


def test_call_places_cannot_exceed_allottable_offices() -> None:
    refused = given_base(ready_base()).when(call(places=3)).then_rejected()
    assert codes(refused) == {"places_out_of_range"}
    given_base(ready_base()).when(call(places=2)).then_accepted()


def test_a_call_cannot_close_before_it_opens_but_may_be_one_day() -> None:
    given_base(ready_base()).when(call(closes_on=D(2023, 8, 31))).then_rejected()
    given_base(ready_base()).when(call(closes_on=D(2023, 9, 1))).then_accepted()


def test_standard_versions_are_consecutive() -> None:
    adopt = AdoptAdmissionStandard(
        base_id=BASE_ID,
        version=3,
        requirements=("x",),
        agreement_template="TPL-3",
        effective_from=D(2024, 1, 1),
    )
    refused = given_base(ready_base()).when(adopt).then_rejected()
    assert codes(refused) == {"standard_version_not_next"}
    base = given_base(ready_base()).when(adopt.model_copy(update={"version": 2})).state
    assert base.standard_on(D(2023, 12, 31)).version == 1  # type: ignore[union-attr]
    assert base.standard_on(D(2024, 1, 1)).version == 2  # type: ignore[union-attr]


def test_updating_facilities_can_bring_a_base_below_standard() -> None:
    update = UpdateFacilities(
        base_id=BASE_ID,
        offices=OFFICES[:2],
        has_desks_and_chairs=True,
        has_projector=True,
        fire_safety_compliant=True,
        updated_on=D(2024, 1, 1),
    )
    base = given_base(ready_base()).when(update).state
    assert hardware_standard(base.facilities) != []


def test_training_hours_are_exact_and_sessions_recorded_once() -> None:
    training = RecordTraining(
        base_id=BASE_ID,
        session_id="s-1",
        title="项目设计",
        held_on=D(2023, 10, 20),
        hours=Decimal("3.50"),
        attendees=46,
    )
    events, base = given_base(ready_base()).when(training).outcome
    assert events[0].hours == "3.5"
    given_base(base).when(training).then_refused()
    given_base(ready_base()).when(training.model_copy(update={"attendees": 0})).then_rejected()


def test_closing_is_refused_while_residents_remain() -> None:
    close = CloseBase(base_id=BASE_ID, reason="场地调整", closed_on=D(2025, 1, 31))
    refused = given_base(ready_base(), Situation(base_holding=1)).when(close).then_rejected()
    assert codes(refused) == {"base_has_residents"}
    closed = given_base(ready_base(), Situation(base_holding=0)).when(close).state
    assert closed.is_closed
    given_base(closed).when(call()).then_refused()
