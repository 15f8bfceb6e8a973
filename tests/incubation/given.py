"""Given-events builders for the pure incubation domain tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from services.incubation.domain import incubation as incubation_domain
from services.incubation.domain import incubation_base as base_domain
from services.incubation.domain.commands import (
    AdoptAdmissionStandard,
    ApproveApplication,
    BaseCommand,
    EstablishBase,
    IncubationCommand,
    OfficeSpec,
    PublishCall,
    ReviewApplication,
    SignAgreement,
    StartIncubation,
    SubmitApplication,
    UpdateFacilities,
)
from services.incubation.domain.criteria import criteria_on
from services.incubation.domain.decide_incubation import decide_incubation
from services.incubation.domain.decide_incubation_base import decide_incubation_base
from services.incubation.domain.incubation import REVIEW_STAGES, Incubation, IncubationEvent
from services.incubation.domain.incubation_base import BaseEvent, IncubationBase
from services.incubation.domain.situation import KnownAgency, Situation

D = dt.date
BASE_ID = "base-1"
CALL_ID = "call-1"
INC_ID = "inc-1"
USCC = "52410105MJ0A1B2C3X"

OFFICES = (
    OfficeSpec(office_id="301", area_m2=Decimal("18.50")),
    OfficeSpec(office_id="302", area_m2=Decimal("15.00")),
    OfficeSpec(office_id="305", area_m2=Decimal("62.00"), shared_room=True),
)


def establish(**changes: Any) -> EstablishBase:
    fields: dict[str, Any] = {
        "base_id": BASE_ID,
        "name": "金水区社工机构孵化基地",
        "level": "county",
        "reporting_unit": "jinshui",
        "address": "郑州市金水区纬五路21号",
        "supervising_department": "金水区民政局",
        "operator": "恒善社会工作服务中心",
        "offices": OFFICES,
        "has_desks_and_chairs": True,
        "has_projector": True,
        "fire_safety_compliant": True,
        "established_on": D(2023, 3, 1),
        **changes,
    }
    return EstablishBase(**fields)


def fold_base(events: Sequence[BaseEvent]) -> IncubationBase | None:
    state: IncubationBase | None = None
    for e in events:
        state = base_domain.evolve(state, e)
    return state


def run_base(
    state: IncubationBase | None, command: BaseCommand, situation: Situation | None = None
) -> tuple[list[Any], IncubationBase]:
    """(events, new state); events typed loosely so tests can read any event's fields."""
    events: list[BaseEvent] = decide_incubation_base(state, command, situation or Situation())
    new = state
    for e in events:
        new = base_domain.evolve(new, e)
    assert new is not None
    return events, new


def ready_base(**changes: Any) -> IncubationBase:
    """An established base with a standard (v1 from 2023-03-15) and an open call (April 2023);
    facility `changes` are applied afterwards (UpdateFacilities), e.g. to fall below standard."""
    _, base = run_base(None, establish())
    _, base = run_base(
        base,
        AdoptAdmissionStandard(
            base_id=BASE_ID,
            version=1,
            requirements=("本地初创社工机构",),
            agreement_template="TPL-1",
            effective_from=D(2023, 3, 15),
        ),
    )
    _, base = run_base(
        base,
        PublishCall(
            base_id=BASE_ID,
            call_id=CALL_ID,
            title="2023年入孵申请",
            opens_on=D(2023, 4, 1),
            closes_on=D(2023, 4, 30),
            places=2,
            published_on=D(2023, 3, 25),
        ),
    )
    if changes:
        facilities: dict[str, Any] = {
            "offices": OFFICES,
            "has_desks_and_chairs": True,
            "has_projector": True,
            "fire_safety_compliant": True,
            **changes,
        }
        update = UpdateFacilities(base_id=BASE_ID, updated_on=D(2023, 5, 1), **facilities)
        _, base = run_base(base, update)
    return base


def agency(
    status: str = "active",
    unit: str = "jinshui",
    lists: tuple[str, ...] = (),
    *,
    staff: tuple[int, int] | None = None,
    inspection: tuple[int, str] | None = None,
) -> KnownAgency:
    return KnownAgency(USCC, "同心社会工作服务中心", unit, status, lists, staff, inspection)


def situation(**changes: Any) -> Situation:
    fields: dict[str, Any] = {
        "base": ready_base(),
        "agency": agency(),
        "criteria": criteria_on(D(2024, 1, 1)),
        **changes,
    }
    return Situation(**fields)


def run(
    state: Incubation | None, command: IncubationCommand, given: Situation | None = None
) -> tuple[list[Any], Incubation]:
    """(events, new state); events typed loosely so tests can read any event's fields."""
    events: list[IncubationEvent] = decide_incubation(state, command, given or situation())
    new = state
    for e in events:
        new = incubation_domain.evolve(new, e)
    assert new is not None
    return events, new


def submitted(**changes: Any) -> Incubation:
    fields: dict[str, Any] = {
        "incubation_id": INC_ID,
        "base_id": BASE_ID,
        "call_id": CALL_ID,
        "uscc": USCC,
        "submitted_on": D(2023, 4, 10),
        **changes,
    }
    return run(None, SubmitApplication(**fields))[1]


def reviewed() -> Incubation:
    state = submitted()
    for i, stage in enumerate(REVIEW_STAGES):
        state = run(
            state,
            ReviewApplication(
                incubation_id=INC_ID, stage=stage, opinion="通过", reviewed_on=D(2023, 5, 1 + i)
            ),
        )[1]
    return state


def approved() -> Incubation:
    return run(
        reviewed(),
        ApproveApplication(incubation_id=INC_ID, opinion="准予入孵", approved_on=D(2023, 6, 1)),
    )[1]


def sign_command(**changes: Any) -> SignAgreement:
    fields: dict[str, Any] = {
        "incubation_id": INC_ID,
        "agreement_id": "agr-1",
        "office_id": "301",
        "term_start": D(2023, 7, 3),
        "term_end": D(2024, 7, 2),
        "signed_on": D(2023, 6, 20),
        **changes,
    }
    return SignAgreement(**fields)


def signed() -> Incubation:
    return run(approved(), sign_command())[1]


def incubating() -> Incubation:
    return run(signed(), StartIncubation(incubation_id=INC_ID, started_on=D(2023, 7, 3)))[1]
