"""The default term, the overrun of a term and inactivity (issue 11 §6; domain/term.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.incubation.domain.commands import (
    ExtendIncubation,
    FlagInactivity,
    MarkTermOverrun,
    RecordProfessionalServices,
    RecordSupport,
)
from services.incubation.domain.term import default_term_end, inactive_from
from tests.incubation.given import INC_ID, D, approved, given, incubating, sign_command


def test_an_agreement_without_an_end_runs_for_the_default_year() -> None:
    [event], state = given(approved()).when(sign_command(term_end=None)).outcome
    assert (event.term_end, event.default_term_months) == (D(2024, 7, 2), 12)
    assert state.agreement is not None and state.agreement.term_end == D(2024, 7, 2)
    [named], _ = given(approved()).when(sign_command()).outcome
    assert named.default_term_months is None  # the parties named the end


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (D(2024, 2, 29), D(2025, 2, 27)),  # a leap day: the anniversary clamps to 28 February
        (D(2023, 1, 1), D(2023, 12, 31)),
        (D(2023, 8, 31), D(2024, 8, 30)),
    ],
)
def test_the_default_term_ends_the_day_before_its_anniversary(start: dt.date, end: dt.date) -> None:
    assert default_term_end(start, start) == (end, 12)


def overrun(day: dt.date) -> MarkTermOverrun:
    return MarkTermOverrun(incubation_id=INC_ID, overrun_on=day)


def test_a_stay_is_past_its_term_from_the_day_after_the_term_end_once() -> None:
    state = incubating()  # term ends 2024-07-02 (inclusive)
    given(state).when(overrun(D(2024, 7, 2))).then_refused("term_not_over")
    [event], state = given(state).when(overrun(D(2024, 7, 3))).outcome
    assert (event.term_end, event.overrun_on) == (D(2024, 7, 2), D(2024, 7, 3))
    given(state).when(overrun(D(2024, 7, 9))).then_refused("already_overrun")


def test_an_extension_moves_the_term_so_no_overrun_is_due() -> None:
    extension = ExtendIncubation(
        incubation_id=INC_ID,
        agreement_id="ext-1",
        term_end=D(2025, 7, 2),
        extended_on=D(2024, 6, 1),
    )
    state = given(incubating()).when(extension).state
    given(state).when(overrun(D(2024, 7, 3))).then_refused("term_not_over")
    [event], _ = given(state).when(overrun(D(2025, 7, 3))).outcome
    assert event.term_end == D(2025, 7, 2)


def test_inactivity_is_flagged_after_the_days_in_force_and_again_after_new_activity() -> None:
    state = incubating()  # moved in 2023-07-03: the last activity
    assert inactive_from(state) == D(2023, 10, 1)  # + 90 days
    given(state).when(FlagInactivity(incubation_id=INC_ID, flagged_on=D(2023, 9, 30))).then_refused(
        "not_yet_inactive"
    )
    [event], state = (
        given(state).when(FlagInactivity(incubation_id=INC_ID, flagged_on=D(2023, 10, 1))).outcome
    )
    assert (event.last_activity_on, event.inactive_days) == (D(2023, 7, 3), 90)
    given(state).when(FlagInactivity(incubation_id=INC_ID, flagged_on=D(2023, 11, 1))).then_refused(
        "already_inactive"
    )
    support = RecordSupport(
        incubation_id=INC_ID, support_type="guidance", description="督导", given_on=D(2023, 11, 5)
    )
    state = given(state).when(support).state
    assert inactive_from(state) == D(2024, 2, 3)  # a new spell from the new activity
    [again], _ = (
        given(state).when(FlagInactivity(incubation_id=INC_ID, flagged_on=D(2024, 2, 3))).outcome
    )
    assert again.last_activity_on == D(2023, 11, 5)


def services(**changes: object) -> RecordProfessionalServices:
    fields: dict[str, object] = {
        "incubation_id": INC_ID,
        "record_id": "svc-1",
        "period_start": D(2023, 10, 1),
        "period_end": D(2023, 12, 31),
        "projects": 2,
        "service_hours": Decimal("236.5"),
        "beneficiaries": 418,
        "description": "入户探访",
        **changes,
    }
    return RecordProfessionalServices.model_validate(fields)


def test_professional_services_are_activity_and_recorded_once() -> None:
    [event], state = given(incubating()).when(services()).outcome
    assert (event.projects, event.service_hours, event.beneficiaries) == (2, "236.5", 418)
    assert state.last_activity_on == D(2023, 12, 31)
    given(state).when(services()).then_refused("duplicate_services")


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"period_start": D(2023, 6, 30), "period_end": D(2023, 7, 31)}, "period_start_too_early"),
        ({"period_start": D(2023, 12, 1), "period_end": D(2024, 1, 31)}, "period_spans_half_years"),
        ({"period_end": D(2023, 9, 30)}, "period_end_too_early"),
        (
            {"projects": 0, "service_hours": Decimal(0), "beneficiaries": 0},
            "services_counts_invalid",
        ),
        ({"beneficiaries": -1}, "services_counts_invalid"),
    ],
)
def test_professional_services_periods_and_counts_are_checked(
    changes: dict[str, object], code: str
) -> None:
    refused = given(incubating()).when(services(**changes)).then_rejected()
    assert code in {v.code for v in refused.violations}


def test_a_half_year_boundary_day_belongs_to_its_half() -> None:
    [event], _ = (
        given(incubating())
        .when(services(period_start=D(2023, 7, 3), period_end=D(2023, 12, 31)))
        .outcome
    )
    assert event.period_start == D(2023, 7, 3)
    given(incubating()).when(
        services(period_start=D(2023, 12, 31), period_end=D(2024, 1, 1))
    ).then_rejected()
