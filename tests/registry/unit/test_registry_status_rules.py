"""Rules on status and staff commands: reasons required, staff ratio re-checked, no no-ops."""

from __future__ import annotations

from dataclasses import replace

import pytest
from socialwork_contracts.registry import AgencyStaffChanged, QualifiedStaffShareFellShort

from services.registry.domain.agency import Agency
from services.registry.domain.commands import (
    ChangeAgencyStaff,
    DeregisterAgency,
    RegistryCommand,
    ReinstateAgency,
    RevokeAgencyRegistration,
    SuspendAgency,
)
from tests.registry.unit.given import given_state


def rejected(agency: Agency, command: RegistryCommand) -> list[str]:
    caught = given_state(agency).when(command).then_rejected()
    return [v.code for v in caught.violations]


@pytest.mark.parametrize(("full_time", "qualified"), [(3, 1), (4, 2), (6, 3), (7, 3), (12, 4)])
def test_staff_change_keeping_the_ratio(agency: Agency, full_time: int, qualified: int) -> None:
    when = ChangeAgencyStaff(uscc=agency.uscc, full_time_staff=full_time, qualified_staff=qualified)
    assert given_state(agency).when(when).events == [
        AgencyStaffChanged(uscc=agency.uscc, full_time_staff=full_time, qualified_staff=qualified)
    ]


@pytest.mark.parametrize(
    ("full_time", "qualified", "code"),
    [
        (3, 4, "qualified_staff_exceeds_full_time"),
        (0, 0, "full_time_staff_too_few"),
    ],
)
def test_impossible_staff_counts(agency: Agency, full_time: int, qualified: int, code: str) -> None:
    when = ChangeAgencyStaff(uscc=agency.uscc, full_time_staff=full_time, qualified_staff=qualified)
    assert rejected(agency, when) == [code]


@pytest.mark.parametrize(("full_time", "qualified", "needed"), [(3, 0, 1), (4, 1, 2), (9, 2, 3)])
def test_a_drop_below_the_third_is_recorded_not_refused(
    agency: Agency, full_time: int, qualified: int, needed: int
) -> None:
    """issue 11 §1: the staff left; refusing to record it would only hide the fact."""
    when = ChangeAgencyStaff(uscc=agency.uscc, full_time_staff=full_time, qualified_staff=qualified)
    assert given_state(agency).when(when).events == [
        AgencyStaffChanged(uscc=agency.uscc, full_time_staff=full_time, qualified_staff=qualified),
        QualifiedStaffShareFellShort(
            uscc=agency.uscc,
            full_time_staff=full_time,
            qualified_staff=qualified,
            required_qualified_staff=needed,
        ),
    ]


def test_only_the_drop_is_a_shortfall_not_every_change_below(agency: Agency) -> None:
    below = replace(agency, full_time_staff=4, qualified_staff=1)
    when = ChangeAgencyStaff(uscc=agency.uscc, full_time_staff=5, qualified_staff=1)
    assert [type(e) for e in given_state(below).when(when).events] == [AgencyStaffChanged]


def test_staff_unchanged(agency: Agency) -> None:
    when = ChangeAgencyStaff(uscc=agency.uscc, full_time_staff=6, qualified_staff=2)
    assert rejected(agency, when) == ["nothing_changed"]


def test_blank_reasons_and_documents(agency: Agency) -> None:
    uscc = agency.uscc
    assert rejected(agency, SuspendAgency(uscc=uscc, reason=" ", decision_document="")) == [
        "reason_missing",
        "decision_document_missing",
    ]
    assert rejected(agency, DeregisterAgency(uscc=uscc, reason="")) == ["reason_missing"]
    revoke = RevokeAgencyRegistration(uscc=uscc, reason="", decision_document=" ", legal_basis="")
    assert rejected(agency, revoke) == [
        "reason_missing",
        "decision_document_missing",
        "legal_basis_missing",
    ]


def test_blank_reinstatement_reason(agency: Agency) -> None:
    suspended = replace(agency, status="suspended")
    assert rejected(suspended, ReinstateAgency(uscc=agency.uscc, reason="")) == ["reason_missing"]
