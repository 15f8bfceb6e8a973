"""Given: the bases, agencies and incubations the pure incubation domain tests start from."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from services.incubation.domain import group as group_domain
from services.incubation.domain import incubation as incubation_domain
from services.incubation.domain import incubation_base as base_domain
from services.incubation.domain.commands import (
    AdoptAdmissionStandard,
    ApproveApplication,
    BaseCommand,
    EstablishBase,
    GroupCommand,
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
from services.incubation.domain.group import Group, decide_group
from services.incubation.domain.incubation import REVIEW_STAGES, Incubation
from services.incubation.domain.incubation_base import IncubationBase
from services.incubation.domain.situation import KnownAgency, Situation
from tests.domain_spec import DomainSpec, Given

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


BASES: DomainSpec[IncubationBase, BaseCommand, Situation]
BASES = DomainSpec(decide_incubation_base, base_domain.evolve)
INCUBATIONS: DomainSpec[Incubation, IncubationCommand, Situation]
INCUBATIONS = DomainSpec(decide_incubation, incubation_domain.evolve)
# A group in preparation is decided on beside the base that takes it on.
GROUPS: DomainSpec[Group, GroupCommand, IncubationBase | None]
GROUPS = DomainSpec(decide_group, group_domain.evolve)


def given_base(
    state: IncubationBase | None, context: Situation | None = None
) -> Given[IncubationBase, BaseCommand, Situation]:
    """Given a base in `state` (None: not established), decided on in that situation."""
    return BASES.given_state(state, context or Situation())


def ready_base(**changes: Any) -> IncubationBase:
    """An established base with a standard (v1 from 2023-03-15) and an open call (April 2023);
    facility `changes` are applied afterwards (UpdateFacilities), e.g. to fall below standard."""
    base = given_base(None).when(establish()).state
    base = (
        given_base(base)
        .when(
            AdoptAdmissionStandard(
                base_id=BASE_ID,
                version=1,
                requirements=("本地初创社工机构",),
                agreement_template="TPL-1",
                effective_from=D(2023, 3, 15),
            )
        )
        .state
    )
    base = (
        given_base(base)
        .when(
            PublishCall(
                base_id=BASE_ID,
                call_id=CALL_ID,
                title="2023年入孵申请",
                opens_on=D(2023, 4, 1),
                closes_on=D(2023, 4, 30),
                places=2,
                published_on=D(2023, 3, 25),
            )
        )
        .state
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
        base = given_base(base).when(update).state
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


def given_group(
    state: Group | None, base: IncubationBase | None
) -> Given[Group, GroupCommand, IncubationBase | None]:
    """Given a group in preparation in `state` (None: not taken on), beside that base."""
    return GROUPS.given_state(state, base)


def given(
    state: Incubation | None, context: Situation | None = None
) -> Given[Incubation, IncubationCommand, Situation]:
    """Given an incubation in `state` (None: no application yet), in that situation (by
    default a ready base, an active local agency and the criteria in force in 2024)."""
    return INCUBATIONS.given_state(state, context or situation())


def submitted(**changes: Any) -> Incubation:
    fields: dict[str, Any] = {
        "incubation_id": INC_ID,
        "base_id": BASE_ID,
        "call_id": CALL_ID,
        "uscc": USCC,
        "submitted_on": D(2023, 4, 10),
        **changes,
    }
    return given(None).when(SubmitApplication(**fields)).state


def reviewed() -> Incubation:
    state = submitted()
    for i, stage in enumerate(REVIEW_STAGES):
        state = (
            given(state)
            .when(
                ReviewApplication(
                    incubation_id=INC_ID, stage=stage, opinion="通过", reviewed_on=D(2023, 5, 1 + i)
                )
            )
            .state
        )
    return state


def approved() -> Incubation:
    return (
        given(reviewed())
        .when(
            ApproveApplication(incubation_id=INC_ID, opinion="准予入孵", approved_on=D(2023, 6, 1))
        )
        .state
    )


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
    return given(approved()).when(sign_command()).state


def incubating() -> Incubation:
    return (
        given(signed()).when(StartIncubation(incubation_id=INC_ID, started_on=D(2023, 7, 3))).state
    )
