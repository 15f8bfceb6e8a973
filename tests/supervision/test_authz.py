"""Who may read and write which credit file (docs/supervision.md "Authorisation")."""

from __future__ import annotations

import datetime as dt

import pytest

from servicekit.auth import Forbidden, Principal, Role
from servicekit.decisions import InvalidTransition
from services.supervision.authz import (
    AgencyScope,
    authorize,
    readable_unit,
    require_file_reader,
)
from services.supervision.domain.commands import (
    ConfirmRectification,
    DelistAgency,
    KnownAgency,
    MarkRectificationOverdue,
    RecordViolation,
)
from tests.supervision.conftest import BASE, USCC

CITY = Principal("c", Role.CITY_ADMIN)
AUDITOR = Principal("a", Role.AUDITOR)
INTEGRATOR = Principal("i", Role.INTEGRATOR)
JINSHUI = Principal("j", Role.UNIT_OFFICER, unit="jinshui")
ERQI = Principal("e", Role.UNIT_OFFICER, unit="erqi")
OWN_BASE = Principal("b", Role.BASE_OPERATOR, base=BASE)
OTHER_BASE = Principal("o", Role.BASE_OPERATOR, base="another-base")

CONFIRM = ConfirmRectification(
    uscc=USCC, rectification_id="r1", verification="已整改", confirmed_on=dt.date(2024, 5, 1)
)
DELIST = DelistAgency(
    uscc=USCC,
    listing_id="l1",
    reason="decision_withdrawn",
    detail="撤销",
    removed_on=dt.date(2024, 5, 1),
)
VIOLATION = RecordViolation(
    uscc=USCC,
    violation_id="v1",
    category="office_subletting",
    severity="serious",
    facts="转借办公室",
    evidence_ref="JC-1",
    found_on=dt.date(2024, 4, 8),
)
SCOPE = AgencyScope("jinshui", frozenset({BASE}))


@pytest.mark.parametrize("command", [CONFIRM, DELIST, VIOLATION])
@pytest.mark.parametrize("caller", [ERQI, JINSHUI])
def test_an_officer_may_not_act_on_an_agency_supervision_does_not_know(
    caller: Principal, command: ConfirmRectification | DelistAgency | RecordViolation
) -> None:
    # Its unit cannot be checked (e.g. while supervision.agencies is rebuilt): never allowed.
    with pytest.raises(InvalidTransition) as refused:
        authorize(caller, None, command, None)
    assert refused.value.code == "agency_not_found"


def test_officers_act_in_their_own_unit_and_the_city_everywhere(agency: KnownAgency) -> None:
    authorize(JINSHUI, None, CONFIRM, agency)
    authorize(CITY, None, CONFIRM, agency)
    authorize(CITY, None, CONFIRM, None)  # the domain answers an unknown agency
    with pytest.raises(Forbidden):
        authorize(ERQI, None, CONFIRM, agency)


@pytest.mark.parametrize("caller", [AUDITOR, INTEGRATOR, OWN_BASE, OTHER_BASE])
def test_other_roles_may_not_decide(caller: Principal, agency: KnownAgency) -> None:
    with pytest.raises(Forbidden):
        authorize(caller, None, DELIST, agency)


def test_the_system_actor_records_only_what_its_own_processes_issue(agency: KnownAgency) -> None:
    """The clock and the reactions to the registry run through the same table as a caller's
    command; the system role (never given to a caller) is admitted for their commands alone."""
    system = Principal("system:supervision-clock", Role.SYSTEM)
    overdue = MarkRectificationOverdue(
        uscc=USCC, rectification_id="r1", overdue_on=dt.date(2024, 5, 2)
    )
    authorize(system, None, overdue, None)
    authorize(system, None, VIOLATION, None)  # a staff shortfall the registry recorded
    with pytest.raises(Forbidden):
        authorize(system, None, DELIST, agency)
    with pytest.raises(Forbidden):
        authorize(CITY, None, overdue, agency)  # the clock's fact is never typed in


def test_a_base_reports_violations_of_its_residents_only(agency: KnownAgency) -> None:
    authorize(OWN_BASE, None, VIOLATION, agency)
    for facts in (agency, None):
        with pytest.raises(Forbidden):
            authorize(OTHER_BASE, None, VIOLATION, facts)


@pytest.mark.parametrize(
    ("caller", "scope", "outcome"),
    [
        (CITY, SCOPE, None),
        (CITY, None, None),  # the file is read from the store
        (AUDITOR, SCOPE, None),
        (AUDITOR, None, None),
        (JINSHUI, SCOPE, None),
        (OWN_BASE, SCOPE, None),
        (ERQI, SCOPE, Forbidden),
        (OTHER_BASE, SCOPE, Forbidden),
        (OWN_BASE, AgencyScope("jinshui"), Forbidden),  # never incubated anywhere
        (INTEGRATOR, SCOPE, Forbidden),
        (INTEGRATOR, None, Forbidden),
        (JINSHUI, None, InvalidTransition),
        (OWN_BASE, None, InvalidTransition),
    ],
)
def test_who_reads_a_credit_file(
    caller: Principal, scope: AgencyScope | None, outcome: type[Exception] | None
) -> None:
    if outcome is None:
        require_file_reader(caller, scope, USCC)
    else:
        with pytest.raises(outcome):
            require_file_reader(caller, scope, USCC)


def test_rectification_lists_are_limited_to_an_officers_unit() -> None:
    assert readable_unit(CITY, None, "read") is None
    assert readable_unit(AUDITOR, "erqi", "read") == "erqi"
    assert readable_unit(JINSHUI, None, "read") == "jinshui"
    assert readable_unit(JINSHUI, "jinshui", "read") == "jinshui"
    for caller, unit in ((JINSHUI, "erqi"), (OWN_BASE, None), (INTEGRATOR, None)):
        with pytest.raises(Forbidden):
            readable_unit(caller, unit, "read")
