"""Registration status (domain.md): active ⇄ suspended; active | suspended → deregistered | revoked.

Every command against every status: allowed ones give their event and the next status, refused
ones raise InvalidTransition with a stable code.
"""

from __future__ import annotations

import datetime as dt

import pytest
from socialwork_contracts.registry import (
    AgencyDeregistered,
    AgencyRegistered,
    AgencyRegistrationRevoked,
    AgencyReinstated,
    AgencySuspended,
)

from services.registry.domain.agency import AgencyStatus
from services.registry.domain.commands import (
    AmendAgencyProfile,
    ChangeAgencyStaff,
    DeregisterAgency,
    RegisterAgency,
    RegistryCommand,
    ReinstateAgency,
    RevokeAgencyRegistration,
    SuspendAgency,
)
from services.registry.domain.events import RegistryEvent
from tests.registry.unit.given import given


def history(registered: AgencyRegistered, status: str) -> list[RegistryEvent]:
    """The events that leave the agency in `status` ("none": never registered)."""
    uscc = registered.uscc
    histories: dict[str, list[RegistryEvent]] = {
        "none": [],
        "active": [registered],
        "suspended": [registered, AgencySuspended(uscc=uscc, until=None, reason="整改")],
        "deregistered": [registered, AgencyDeregistered(uscc=uscc, reason="自行解散")],
        "revoked": [registered, AgencyRegistrationRevoked(uscc=uscc, reason="违法")],
    }
    return histories[status]


def command(name: str, registration: RegisterAgency) -> RegistryCommand:
    uscc = registration.uscc
    commands: dict[str, RegistryCommand] = {
        "register": registration,
        "amend": AmendAgencyProfile(uscc=uscc, amended_on=dt.date(2020, 1, 2), address="新址"),
        "staff": ChangeAgencyStaff(uscc=uscc, full_time_staff=9, qualified_staff=3),
        "suspend": SuspendAgency(uscc=uscc, until=dt.date(2020, 3, 31), reason="限期整改"),
        "reinstate": ReinstateAgency(uscc=uscc, reason="整改完成"),
        "deregister": DeregisterAgency(uscc=uscc, reason="自行解散"),
        "revoke": RevokeAgencyRegistration(uscc=uscc, reason="严重违法"),
    }
    return commands[name]


ALLOWED: list[tuple[str, str, AgencyStatus]] = [
    # (status before, command, status after)
    ("none", "register", "active"),
    ("active", "amend", "active"),
    ("active", "staff", "active"),
    ("active", "suspend", "suspended"),
    ("active", "deregister", "deregistered"),
    ("active", "revoke", "revoked"),
    ("suspended", "amend", "suspended"),
    ("suspended", "staff", "suspended"),
    ("suspended", "reinstate", "active"),
    ("suspended", "deregister", "deregistered"),
    ("suspended", "revoke", "revoked"),
]

REFUSED: list[tuple[str, str, str]] = [
    # (status, command, refusal code)
    *[
        ("none", c, "agency_not_found")
        for c in ("amend", "staff", "suspend", "reinstate", "deregister", "revoke")
    ],
    ("active", "register", "duplicate_uscc"),
    ("active", "reinstate", "not_suspended"),
    ("suspended", "register", "duplicate_uscc"),
    ("suspended", "suspend", "already_suspended"),
    *[(s, "register", "duplicate_uscc") for s in ("deregistered", "revoked")],
    *[
        (s, c, "agency_closed")
        for s in ("deregistered", "revoked")
        for c in ("amend", "staff", "suspend", "reinstate", "deregister", "revoke")
    ],
]


def test_matrix_is_complete() -> None:
    statuses = ("none", "active", "suspended", "deregistered", "revoked")
    names = ("register", "amend", "staff", "suspend", "reinstate", "deregister", "revoke")
    covered = {(s, c) for s, c, _ in ALLOWED} | {(s, c) for s, c, _ in REFUSED}
    assert covered == {(s, c) for s in statuses for c in names}
    assert len(ALLOWED) + len(REFUSED) == len(covered)


@pytest.mark.parametrize(("before", "name", "after"), ALLOWED)
def test_allowed(
    registered: AgencyRegistered,
    registration: RegisterAgency,
    before: str,
    name: str,
    after: AgencyStatus,
) -> None:
    then = given(*history(registered, before)).when(command(name, registration))
    assert len(then.events) == 1
    assert then.state.status == after


@pytest.mark.parametrize(("status", "name", "code"), REFUSED)
def test_refused(
    registered: AgencyRegistered, registration: RegisterAgency, status: str, name: str, code: str
) -> None:
    caught = given(*history(registered, status)).when(command(name, registration)).then_refused()
    assert caught.code == code
    assert caught.message_zh
    assert caught.message_en


def test_suspend(registered: AgencyRegistered) -> None:
    when = SuspendAgency(
        uscc=registered.uscc,
        until=dt.date(2020, 3, 31),
        reason="限期整改",
        decision_document="郑民罚〔2020〕1号",
    )
    given(registered).when(when).then(
        AgencySuspended(
            uscc=registered.uscc,
            until=dt.date(2020, 3, 31),
            reason="限期整改",
            decision_document="郑民罚〔2020〕1号",
        )
    )


def test_reinstate(registered: AgencyRegistered) -> None:
    when = ReinstateAgency(uscc=registered.uscc, reason="整改完成")
    given(*history(registered, "suspended")).when(when).then(
        AgencyReinstated(uscc=registered.uscc, reason="整改完成")
    )


def test_deregister(registered: AgencyRegistered) -> None:
    when = DeregisterAgency(uscc=registered.uscc, reason="自行解散")
    given(registered).when(when).then(AgencyDeregistered(uscc=registered.uscc, reason="自行解散"))


def test_revoke(registered: AgencyRegistered) -> None:
    when = RevokeAgencyRegistration(
        uscc=registered.uscc,
        reason="严重违法",
        decision_document="郑民罚〔2020〕2号",
        legal_basis="民办非企业单位登记管理暂行条例第二十五条",
    )
    given(*history(registered, "suspended")).when(when).then(
        AgencyRegistrationRevoked(
            uscc=registered.uscc,
            reason="严重违法",
            decision_document="郑民罚〔2020〕2号",
            legal_basis="民办非企业单位登记管理暂行条例第二十五条",
        )
    )
