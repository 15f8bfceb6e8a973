"""Registration (成立登记, every rule of guidance §2.2) and changes of staff counts."""

from __future__ import annotations

from socialwork_contracts.reference import county_code_of
from socialwork_contracts.registry import (
    AgencyRegistered,
    AgencyStaffChanged,
    QualifiedStaffShareFellShort,
)

from servicekit.decisions import DomainRejected, InvalidTransition, reject_any
from services.registry.domain import rules, uscc_rules
from services.registry.domain.agency import Agency
from services.registry.domain.commands import (
    ChangeAgencyStaff,
    RegisterAgency,
)
from services.registry.domain.events import RegistryEvent
from services.registry.domain.status import open_agency


def register(state: Agency | None, command: RegisterAgency) -> AgencyRegistered:
    """Register a new agency: every rule of guidance §2.2 checked, all violations reported."""
    if state is not None:
        raise InvalidTransition(
            "duplicate_uscc",
            f"统一社会信用代码{command.uscc}已登记",
            f"an agency with credit code {command.uscc} is already registered",
        )
    reject_any(
        uscc_rules.uscc_format(command.uscc)
        + uscc_rules.uscc_matches_kind(command.uscc, command.kind)
        + rules.name_present(command.name)
        + rules.name_without_forbidden_words(command.name)
        + rules.text_present("address", command.address, "住所", "address")
        + rules.text_present(
            "legal_representative",
            command.legal_representative,
            "法定代表人",
            "legal representative",
        )
        + rules.optional_text_present("sponsor", command.sponsor, "业务主管单位", "sponsor")
        + rules.charter_complete(
            command.charter_purpose, command.charter_scope, command.charter_method
        )
        + rules.staff_ratio(command.full_time_staff, command.qualified_staff)
        + rules.reporting_unit_valid_on(command.reporting_unit, command.registered_on)
        + rules.service_fields_valid(command.service_fields)
        + rules.target_groups_valid(command.target_groups)
        + rules.provisional_id_format(command.provisional_id)
    )
    return AgencyRegistered(
        uscc=command.uscc,
        name=command.name,
        kind=command.kind,
        reporting_unit=command.reporting_unit,
        county_code=county_code_of(command.reporting_unit),
        address=command.address,
        legal_representative=command.legal_representative,
        sponsor=command.sponsor,
        charter_purpose=command.charter_purpose,
        charter_scope=command.charter_scope,
        charter_method=command.charter_method,
        full_time_staff=command.full_time_staff,
        qualified_staff=command.qualified_staff,
        service_fields=list(command.service_fields),
        target_groups=list(command.target_groups),
        priority=rules.priority_of(command.service_fields, command.target_groups),
        registered_on=command.registered_on,
        provisional_id=command.provisional_id,
    )


def change_staff(state: Agency | None, command: ChangeAgencyStaff) -> list[RegistryEvent]:
    """New staff counts. A drop below the qualified third (guidance §2.2) is a fact that
    happened: recorded beside the change, for supervision to act on, never refused."""
    agency = open_agency(state, command.uscc)
    full_time, qualified = command.full_time_staff, command.qualified_staff
    reject_any(rules.staff_counts(full_time, qualified))
    if (full_time, qualified) == (agency.full_time_staff, agency.qualified_staff):
        raise DomainRejected([rules.NOTHING_CHANGED])
    events: list[RegistryEvent] = [
        AgencyStaffChanged(uscc=agency.uscc, full_time_staff=full_time, qualified_staff=qualified)
    ]
    was_met = rules.qualified_share_met(agency.full_time_staff, agency.qualified_staff)
    if was_met and not rules.qualified_share_met(full_time, qualified):
        events.append(
            QualifiedStaffShareFellShort(
                uscc=agency.uscc,
                full_time_staff=full_time,
                qualified_staff=qualified,
                required_qualified_staff=rules.required_qualified_staff(full_time),
            )
        )
    return events
