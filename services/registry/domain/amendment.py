"""Amending registered particulars (变更登记): each changed particular is checked by the rule that
applied at registration, and only what changed goes into the event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class _Changes:
    """The particulars a command changes (None: not given, or the same as now)."""

    name: str | None
    address: str | None
    representative: str | None
    unit: str | None
    purpose: str | None
    scope: str | None
    method: str | None
    fields: tuple[str, ...] | None
    groups: tuple[str, ...] | None


def amend_profile(state: Agency | None, command: AmendAgencyProfile) -> AgencyProfileAmended:
    """Allowed while active or suspended; `nothing_changed` when every given value is current."""
    agency = open_agency(state, command.uscc)
    c = _Changes(
        name=_change(command.name, agency.name),
        address=_change(command.address, agency.address),
        representative=_change(command.legal_representative, agency.legal_representative),
        unit=_change(command.reporting_unit, agency.reporting_unit),
        purpose=_change(command.charter_purpose, agency.charter_purpose),
        scope=_change(command.charter_scope, agency.charter_scope),
        method=_change(command.charter_method, agency.charter_method),
        fields=_change(command.service_fields, agency.service_fields),
        groups=_change(command.target_groups, agency.target_groups),
    )
    reject_any(_sponsor_checks(command) + _checks(c, command))
    sponsor = agency.sponsor if command.sponsor is None else command.sponsor
    if command.remove_sponsor:
        sponsor = None
    # A new reporting unit brings its own GB/T 2260 county (none for a functional zone).
    county_code = agency.county_code if c.unit is None else county_code_of(c.unit)
    priority = rules.priority_of(
        agency.service_fields if c.fields is None else c.fields,
        agency.target_groups if c.groups is None else c.groups,
    )
    changed = [
        field
        for field, is_changed in (
            ("name", c.name is not None),
            ("address", c.address is not None),
            ("legal_representative", c.representative is not None),
            ("sponsor", sponsor != agency.sponsor),
            ("reporting_unit", c.unit is not None),
            ("county_code", county_code != agency.county_code),
            ("charter_purpose", c.purpose is not None),
            ("charter_scope", c.scope is not None),
            ("charter_method", c.method is not None),
            ("service_fields", c.fields is not None),
            ("target_groups", c.groups is not None),
            ("priority", priority != agency.priority),
        )
        if is_changed
    ]
    if not changed:
        raise DomainRejected([rules.NOTHING_CHANGED])
    return AgencyProfileAmended(
        uscc=agency.uscc,
        name=c.name,
        address=c.address,
        legal_representative=c.representative,
        sponsor=sponsor if "sponsor" in changed else None,
        reporting_unit=c.unit,
        county_code=county_code if "county_code" in changed else None,
        charter_purpose=c.purpose,
        charter_scope=c.scope,
        charter_method=c.method,
        service_fields=None if c.fields is None else list(c.fields),
        target_groups=None if c.groups is None else list(c.groups),
        priority=priority,
        changed_fields=changed,
    )


def _sponsor_checks(command: AmendAgencyProfile) -> list[RuleViolation]:
    conflict = command.remove_sponsor and command.sponsor is not None
    return rules.optional_text_present("sponsor", command.sponsor, "业务主管单位", "sponsor") + (
        [SPONSOR_CONFLICT] if conflict else []
    )


def _checks(c: _Changes, command: AmendAgencyProfile) -> list[RuleViolation]:
    """Each changed particular checked by the rule that applied at registration."""
    return (
        _if_given(c.name, lambda v: rules.name_present(v) + rules.name_without_forbidden_words(v))
        + _if_given(c.address, lambda v: rules.text_present("address", v, "住所", "address"))
        + _if_given(
            c.representative,
            lambda v: rules.text_present(
                "legal_representative", v, "法定代表人", "legal representative"
            ),
        )
        + _if_given(c.unit, lambda v: rules.reporting_unit_valid_on(v, command.amended_on))
        + _if_given(c.purpose, rules.charter_purpose)
        + _if_given(c.scope, rules.charter_scope)
        + _if_given(c.method, rules.charter_method)
        + _if_given(c.fields, rules.service_fields_valid)
        + _if_given(c.groups, rules.target_groups_valid)
    )


def _if_given(value: _T | None, check: Callable[[_T], list[RuleViolation]]) -> list[RuleViolation]:
    return [] if value is None else check(value)


def _change(given: _T | None, current: _T) -> _T | None:
    """The given value when it differs from the current one; None when absent or the same."""
    return None if given is None or given == current else given
