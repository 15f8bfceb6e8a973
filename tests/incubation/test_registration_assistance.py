"""注册协助 (issue 11 §2): a group in preparation applies, is admitted and supported under a
provisional id; the registry's registration links it; a group not registered in time is flagged."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from socialwork_contracts.incubation import (
    GroupInPreparationRecorded,
    GroupRegistered,
    GroupRegistrationOverdue,
    IncubationIdentityLinked,
)

from services.incubation.domain import group as group_domain
from services.incubation.domain.commands import (
    GraduateAgency,
    LinkIncubationIdentity,
    MarkGroupRegistrationOverdue,
    RecordGroupInPreparation,
    RecordGroupRegistration,
    SubmitApplication,
)
from services.incubation.domain.group import Group
from services.incubation.domain.situation import KnownAgency
from tests.incubation.given import (
    BASE_ID,
    CALL_ID,
    INC_ID,
    USCC,
    given,
    given_group,
    incubating,
    ready_base,
    situation,
)

D = dt.date
GROUP = "6f1c1d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"


def take_on(**changes: Any) -> RecordGroupInPreparation:
    fields: dict[str, Any] = {
        "provisional_id": GROUP,
        "base_id": BASE_ID,
        "name": "郑州市金水区惠民社会工作服务中心（筹）",
        "kind": "service_agency",
        "reporting_unit": "jinshui",
        "contact_person": "赵敏",
        "recorded_on": D(2023, 4, 3),
        **changes,
    }
    return RecordGroupInPreparation(**fields)


def group_after(*commands: Any) -> Group:
    group = given_group(None, ready_base())
    for command in commands:
        group.when(command)
    assert group.state is not None
    return group.state


def preparing() -> KnownAgency:
    return KnownAgency(GROUP, "郑州市金水区惠民社会工作服务中心（筹）", "jinshui", "preparing")


def test_a_group_is_taken_on_with_its_deadline_six_months_on() -> None:
    [event] = given_group(None, ready_base()).when(take_on()).events
    assert isinstance(event, GroupInPreparationRecorded)
    assert (event.provisional_id, event.register_by) == (GROUP, D(2023, 10, 3))


def test_the_deadline_is_clamped_to_a_shorter_month() -> None:  # Civil Code §202
    [event] = given_group(None, ready_base()).when(take_on(recorded_on=D(2023, 8, 31))).events
    assert isinstance(event, GroupInPreparationRecorded)
    assert event.register_by == D(2024, 2, 29)  # leap year


def test_the_months_are_dated_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = ((D(2018, 1, 1), 6), (D(2024, 1, 1), 3))
    monkeypatch.setattr(group_domain, "REGISTRATION_MONTHS", rows)
    assert group_domain.register_by(D(2023, 12, 31)) == D(2024, 6, 30)
    assert group_domain.register_by(D(2024, 1, 1)) == D(2024, 4, 1)


def test_a_group_needs_a_uuid_a_name_and_a_valid_unit() -> None:
    caught = (
        given_group(None, ready_base())
        .when(take_on(provisional_id="52410105MJ0A1B2C3X", name=" ", reporting_unit="nowhere"))
        .then_rejected()
    )
    assert {v.code for v in caught.violations} == {
        "provisional_id_format",
        "name_missing",
        "reporting_unit_unknown",
    }


def test_a_group_in_preparation_may_apply_under_its_provisional_id() -> None:
    command = SubmitApplication(
        incubation_id=INC_ID,
        base_id=BASE_ID,
        call_id=CALL_ID,
        uscc=GROUP,
        submitted_on=D(2023, 4, 10),
    )
    [event], state = given(None, situation(agency=preparing())).when(command).outcome
    assert (event.uscc, event.local, state.uscc) == (GROUP, True, GROUP)


def test_an_unknown_provisional_id_may_not_apply() -> None:
    command = SubmitApplication(
        incubation_id=INC_ID,
        base_id=BASE_ID,
        call_id=CALL_ID,
        uscc=GROUP,
        submitted_on=D(2023, 4, 10),
    )
    caught = given(None, situation(agency=None)).when(command).then_rejected()
    assert [v.code for v in caught.violations] == ["agency_not_registered"]


def test_a_group_cannot_graduate_before_it_is_registered() -> None:
    graduate = GraduateAgency(
        incubation_id=INC_ID,
        assessment={},
        assessment_summary="运营规范",
        graduated_on=D(2024, 6, 1),
    )
    caught = given(incubating(), situation(agency=preparing())).when(graduate).then_rejected()
    assert "group_not_registered" in {v.code for v in caught.violations}


def test_the_registration_links_the_group_once() -> None:
    register = RecordGroupRegistration(provisional_id=GROUP, uscc=USCC, registered_on=D(2023, 9, 1))
    state = group_after(take_on())
    [event] = given_group(state, None).when(register).events
    assert isinstance(event, GroupRegistered)
    linked = group_domain.evolve(state, event)
    assert (linked.status, linked.uscc) == ("registered", USCC)
    caught = given_group(linked, None).when(register).then_refused()
    assert caught.code == "group_registered"


def test_an_unknown_group_is_not_linked() -> None:
    register = RecordGroupRegistration(provisional_id=GROUP, uscc=USCC, registered_on=D(2023, 9, 1))
    caught = given_group(None, None).when(register).then_refused()
    assert caught.code == "group_not_found"


def test_the_incubation_follows_the_agency_from_the_link() -> None:
    state = (
        given(incubating())
        .when(
            LinkIncubationIdentity(
                incubation_id=INC_ID,
                provisional_id=USCC,
                uscc="52410105MJ2P7Q31XX",
                linked_on=D(2023, 9, 1),
            )
        )
        .state
    )
    assert state.uscc == "52410105MJ2P7Q31XX"
    caught = (
        given(state)
        .when(
            LinkIncubationIdentity(
                incubation_id=INC_ID, provisional_id=GROUP, uscc=USCC, linked_on=D(2023, 9, 1)
            )
        )
        .then_refused()
    )  # under another id: not this group's
    assert caught.code == "not_this_group"


def test_the_link_event_names_both_identities() -> None:
    [event], _ = (
        given(incubating())
        .when(
            LinkIncubationIdentity(
                incubation_id=INC_ID, provisional_id=USCC, uscc="X" * 18, linked_on=D(2023, 9, 1)
            )
        )
        .outcome
    )
    assert isinstance(event, IncubationIdentityLinked)
    assert (event.provisional_id, event.uscc, event.base_id) == (USCC, "X" * 18, BASE_ID)


# The deadline (inclusive) is 2023-10-03, a day of the National Day holiday: it moves to the next
# working day (Civil Code §203), Saturday 2023-10-07 (a make-up working day, 调休), so the first
# overdue day is 2023-10-08.
@pytest.mark.parametrize(
    ("day", "allowed"), [(D(2023, 10, 4), False), (D(2023, 10, 7), False), (D(2023, 10, 8), True)]
)
def test_overdue_only_after_the_deadline_moved_past_days_off(day: dt.date, allowed: bool) -> None:
    state = group_after(take_on())
    command = MarkGroupRegistrationOverdue(provisional_id=GROUP, overdue_on=day)
    if allowed:
        [event] = given_group(state, None).when(command).events
        assert isinstance(event, GroupRegistrationOverdue)
        assert (event.register_by, event.overdue_on) == (D(2023, 10, 3), day)
    else:
        caught = given_group(state, None).when(command).then_refused()
        assert caught.code == "not_yet_overdue"


def test_overdue_once_and_never_after_registration() -> None:
    flag = MarkGroupRegistrationOverdue(provisional_id=GROUP, overdue_on=D(2023, 10, 8))
    flagged = group_after(take_on(), flag)
    caught = given_group(flagged, None).when(flag).then_refused()
    assert caught.code == "already_overdue"
    register = RecordGroupRegistration(provisional_id=GROUP, uscc=USCC, registered_on=D(2023, 9, 1))
    registered = group_after(take_on(), register)
    caught = given_group(registered, None).when(flag).then_refused()
    assert caught.code == "group_registered"
    # A late registration still links a flagged group.
    assert group_after(take_on(), flag, register).status == "registered"
