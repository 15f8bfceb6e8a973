"""Amending registered particulars (变更登记): each changed particular is checked by the rule that
applied at registration, and only what changed goes into the event."""

from __future__ import annotations

from typing import TypeVar

from socialwork_contracts.reference import county_code_of
from socialwork_contracts.registry import AgencyProfileAmended

from servicekit.decisions import DomainRejected, RuleViolation, reject_any
from services.registry.domain import rules
from services.registry.domain.agency import Agency
from services.registry.domain.commands import AmendAgencyProfile
from services.registry.domain.status import open_agency

_T = TypeVar("_T")

SPONSOR_CONFLICT = RuleViolation(
    "sponsor_conflict",
    "sponsor",
    "不能同时变更和取消业务主管单位",
    "give a new sponsor or remove the sponsor, not both",
)


def amend_profile(state: Agency | None, command: AmendAgencyProfile) -> AgencyProfileAmended:
    """Allowed while active or suspended; `nothing_changed` when every given value is current."""
    agency = open_agency(state, command.uscc)
    name = _change(command.name, agency.name)
    address = _change(command.address, agency.address)
    representative = _change(command.legal_representative, agency.legal_representative)
    unit = _change(command.reporting_unit, agency.reporting_unit)
    purpose = _change(command.charter_purpose, agency.charter_purpose)
    scope = _change(command.charter_scope, agency.charter_scope)
    method = _change(command.charter_method, agency.charter_method)
    fields = _change(command.service_fields, agency.service_fields)
    groups = _change(command.target_groups, agency.target_groups)
    sponsor = agency.sponsor if command.sponsor is None else command.sponsor
    if command.remove_sponsor:
        sponsor = None

    violations = rules.optional_text_present("sponsor", command.sponsor, "业务主管单位", "sponsor")
    if command.remove_sponsor and command.sponsor is not None:
        violations.append(SPONSOR_CONFLICT)
    if name is not None:
        violations += rules.name_present(name) + rules.name_without_forbidden_words(name)
    if address is not None:
        violations += rules.text_present("address", address, "住所", "address")
    if representative is not None:
        violations += rules.text_present(
            "legal_representative", representative, "法定代表人", "legal representative"
        )
    if unit is not None:
        violations += rules.reporting_unit_valid_on(unit, command.amended_on)
    if purpose is not None:
        violations += rules.charter_purpose(purpose)
    if scope is not None:
        violations += rules.charter_scope(scope)
    if method is not None:
        violations += rules.charter_method(method)
    if fields is not None:
        violations += rules.service_fields_valid(fields)
    if groups is not None:
        violations += rules.target_groups_valid(groups)
    reject_any(violations)

    # A new reporting unit brings its own GB/T 2260 county (none for a functional zone).
    county_code = agency.county_code if unit is None else county_code_of(unit)
    priority = rules.priority_of(
        agency.service_fields if fields is None else fields,
        agency.target_groups if groups is None else groups,
    )
    changed = [
        field
        for field, is_changed in (
            ("name", name is not None),
            ("address", address is not None),
            ("legal_representative", representative is not None),
            ("sponsor", sponsor != agency.sponsor),
            ("reporting_unit", unit is not None),
            ("county_code", county_code != agency.county_code),
            ("charter_purpose", purpose is not None),
            ("charter_scope", scope is not None),
            ("charter_method", method is not None),
            ("service_fields", fields is not None),
            ("target_groups", groups is not None),
            ("priority", priority != agency.priority),
        )
        if is_changed
    ]
    if not changed:
        raise DomainRejected([rules.NOTHING_CHANGED])
    return AgencyProfileAmended(
        uscc=agency.uscc,
        name=name,
        address=address,
        legal_representative=representative,
        sponsor=sponsor if "sponsor" in changed else None,
        reporting_unit=unit,
        county_code=county_code if "county_code" in changed else None,
        charter_purpose=purpose,
        charter_scope=scope,
        charter_method=method,
        service_fields=None if fields is None else list(fields),
        target_groups=None if groups is None else list(groups),
        priority=priority,
        changed_fields=changed,
    )


def _change(given: _T | None, current: _T) -> _T | None:
    """The given value when it differs from the current one; None when absent or the same."""
    return None if given is None or given == current else given
