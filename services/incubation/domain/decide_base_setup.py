"""A base's record: establishing it (a base below the hardware standard may be recorded) and
updating its facilities."""

from __future__ import annotations

from socialwork_contracts.incubation import (
    BaseEstablished,
    BaseFacilitiesUpdated,
    Office,
)
from socialwork_contracts.reference import county_code_of, locality

from servicekit.decisions import InvalidTransition, RuleViolation, reject_any
from services.incubation.domain import rules
from services.incubation.domain.commands import (
    EstablishBase,
    OfficeSpec,
    UpdateFacilities,
)
from services.incubation.domain.incubation_base import (
    IncubationBase,
    open_base,
)


def establish(state: IncubationBase | None, command: EstablishBase) -> BaseEstablished:
    """Record a base; a base below the hardware standard may be recorded (it cannot admit)."""
    if state is not None:
        raise InvalidTransition(
            "duplicate_base", "孵化基地已存在", f"base {command.base_id} exists"
        )
    reject_any(
        rules.text_present("name", command.name, "基地名称")
        + rules.text_present("address", command.address, "地址")
        + rules.text_present("supervising_department", command.supervising_department, "主管部门")
        + rules.text_present("operator", command.operator, "运营机构")
        + _unit_valid(command.reporting_unit, command)
        + rules.offices_well_formed(command.offices)
    )
    return BaseEstablished(
        base_id=command.base_id,
        name=command.name,
        level=command.level,
        reporting_unit=command.reporting_unit,
        county_code=county_code_of(command.reporting_unit),
        address=command.address,
        supervising_department=command.supervising_department,
        operator=command.operator,
        operator_uscc=command.operator_uscc,
        purchase_contract=command.purchase_contract,
        offices=_offices(command.offices),
        has_desks_and_chairs=command.has_desks_and_chairs,
        has_projector=command.has_projector,
        fire_safety_compliant=command.fire_safety_compliant,
        established_on=command.established_on,
    )


def _unit_valid(unit: str, command: EstablishBase) -> list[RuleViolation]:
    try:
        place = locality(unit)
    except KeyError:
        return [
            RuleViolation(
                "reporting_unit_unknown",
                "reporting_unit",
                f"未知的统计单位：{unit}",
                f"unknown reporting unit {unit}",
            )
        ]
    if place.valid_on(command.established_on):
        return []
    return [
        RuleViolation(
            "reporting_unit_not_valid",
            "reporting_unit",
            "统计单位在建成日期不存在",
            f"reporting unit {unit} does not exist on the establishment date",
        )
    ]


def _offices(specs: tuple[OfficeSpec, ...]) -> list[Office]:
    return [
        Office(office_id=o.office_id, area_m2=f"{o.area_m2:.2f}", shared_room=o.shared_room)
        for o in specs
    ]


def update_facilities(
    state: IncubationBase | None, command: UpdateFacilities
) -> BaseFacilitiesUpdated:
    base = open_base(state, command.base_id)
    reject_any(
        rules.offices_well_formed(command.offices)
        + rules.date_order(
            "updated_on",
            base.established_on,
            command.updated_on,
            "变更日期早于建成日期",
            "update before the base was established",
        )
    )
    return BaseFacilitiesUpdated(
        base_id=base.base_id,
        offices=_offices(command.offices),
        has_desks_and_chairs=command.has_desks_and_chairs,
        has_projector=command.has_projector,
        fire_safety_compliant=command.fire_safety_compliant,
        updated_on=command.updated_on,
    )
