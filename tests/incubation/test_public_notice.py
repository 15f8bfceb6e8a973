"""公示期 (issue 11 §5): an admission's public notice is a real window; objections are recorded
only within it; the public-notice stage is passed after it ends."""

from __future__ import annotations

import datetime as dt

import pytest
from socialwork_contracts.incubation import (
    AdmissionObjectionRecorded,
    PublicNoticeOpened,
    ReviewStage,
)

from services.incubation.domain.commands import (
    OpenPublicNotice,
    RecordAdmissionObjection,
    ReviewApplication,
)
from services.incubation.domain.incubation import Incubation
from tests.incubation.given import INC_ID, given, submitted

D = dt.date


def panel_reviewed() -> Incubation:
    state = submitted()
    stages: tuple[ReviewStage, ...] = ("intake", "first_review", "panel_review")
    for i, stage in enumerate(stages):
        state = (
            given(state)
            .when(
                ReviewApplication(
                    incubation_id=INC_ID,
                    stage=stage,
                    opinion="通过",
                    reviewed_on=D(2023, 4, 20 + i),
                )
            )
            .state
        )
    return state


def noticed() -> Incubation:  # Monday 2023-05-08 to Friday 2023-05-12: five working days
    command = OpenPublicNotice(
        incubation_id=INC_ID, starts_on=D(2023, 5, 8), ends_on=D(2023, 5, 12)
    )
    [event], state = given(panel_reviewed()).when(command).outcome
    assert isinstance(event, PublicNoticeOpened)
    return state


def test_a_notice_needs_five_working_days() -> None:
    # Friday to Wednesday: Fri, Mon, Tue, Wed are four working days.
    short = OpenPublicNotice(incubation_id=INC_ID, starts_on=D(2023, 5, 12), ends_on=D(2023, 5, 17))
    caught = given(panel_reviewed()).when(short).then_rejected()
    assert [v.code for v in caught.violations] == ["public_notice_too_short"]
    enough = short.model_copy(update={"ends_on": D(2023, 5, 18)})
    [event], _ = given(panel_reviewed()).when(enough).outcome
    assert (event.starts_on, event.ends_on) == (D(2023, 5, 12), D(2023, 5, 18))


def test_a_make_up_working_day_counts() -> None:  # 调休: Saturday 2023-05-06 was a working day
    command = OpenPublicNotice(
        incubation_id=INC_ID, starts_on=D(2023, 5, 5), ends_on=D(2023, 5, 10)
    )
    [event], _ = given(panel_reviewed()).when(command).outcome
    assert event.ends_on == D(2023, 5, 10)


def test_a_notice_follows_the_panel_review_once() -> None:
    early = OpenPublicNotice(incubation_id=INC_ID, starts_on=D(2023, 5, 8), ends_on=D(2023, 5, 12))
    given(submitted()).when(early).then_refused()
    given(noticed()).when(early).then_refused()


@pytest.mark.parametrize(
    ("day", "recorded"),
    [
        (D(2023, 5, 7), False),
        (D(2023, 5, 8), True),
        (D(2023, 5, 12), True),
        (D(2023, 5, 13), False),
    ],
)
def test_objections_are_recorded_within_the_window(day: dt.date, recorded: bool) -> None:
    command = RecordAdmissionObjection(
        incubation_id=INC_ID, objection_id="o-1", received_on=day, summary="来信反映人员不实"
    )
    if recorded:
        [event], state = given(noticed()).when(command).outcome
        assert isinstance(event, AdmissionObjectionRecorded)
        assert state.objections == ("o-1",)
    else:
        caught = given(noticed()).when(command).then_rejected()
        assert [v.code for v in caught.violations] == ["outside_public_notice"]


def test_the_public_notice_stage_is_passed_after_the_window() -> None:
    def stage(day: dt.date) -> ReviewApplication:
        return ReviewApplication(
            incubation_id=INC_ID, stage="public_notice", opinion="公示无异议", reviewed_on=day
        )

    caught = given(noticed()).when(stage(D(2023, 5, 12))).then_rejected()
    assert [v.code for v in caught.violations] == ["public_notice_not_over"]
    [event], _ = given(noticed()).when(stage(D(2023, 5, 15))).outcome
    assert event.stage == "public_notice"
