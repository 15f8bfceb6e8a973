"""evolve: each registry event folded onto the state, and streams that cannot be folded."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import ClassVar

import pytest
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.registry import (
    AgencyDeregistered,
    AgencyProfileAmended,
    AgencyRegistered,
    AgencyRegistrationRevoked,
    AgencyReinstated,
    AgencyStaffChanged,
    AgencySuspended,
)

from servicekit.decisions import EventOutOfOrder
from services.registry.domain.agency import Agency, evolve, fold
from services.registry.domain.events import as_registry_event


def test_registered(registered: AgencyRegistered) -> None:
    assert evolve(None, registered) == Agency(
        uscc=registered.uscc,
        name="郑州市金水区向阳社会工作服务中心",
        kind="service_agency",
        reporting_unit="jinshui",
        county_code="410105",
        address="郑州市金水区花园路1号",
        legal_representative="王芳",
        sponsor=None,
        charter_purpose="运用社会工作专业方法服务社区居民",
        charter_scope="社区服务、老年人服务、青少年服务",
        charter_method="个案工作、小组工作、社区工作",
        full_time_staff=6,
        qualified_staff=2,
        service_fields=("community_service",),
        target_groups=("elderly", "youth"),
        priority=True,
        registered_on=dt.date(2019, 3, 1),
        status="active",
        suspended_until=None,
    )


def test_profile_amended_applies_only_changed_fields(agency: Agency) -> None:
    event = AgencyProfileAmended(
        uscc=agency.uscc,
        name="新名称社会工作服务中心",
        reporting_unit="hangkonggang",
        county_code=None,
        target_groups=["children"],
        priority=True,
        changed_fields=["name", "reporting_unit", "county_code", "target_groups"],
    )
    assert evolve(agency, event) == replace(
        agency,
        name="新名称社会工作服务中心",
        reporting_unit="hangkonggang",
        county_code=None,
        target_groups=("children",),
    )


def test_profile_amended_keeps_nullable_fields_not_listed(agency: Agency) -> None:
    sponsored = replace(agency, sponsor="金水区民政局")
    event = AgencyProfileAmended(
        uscc=agency.uscc, address="新址", priority=False, changed_fields=["address"]
    )
    assert evolve(sponsored, event) == replace(sponsored, address="新址", priority=False)


def test_staff_changed(agency: Agency) -> None:
    event = AgencyStaffChanged(uscc=agency.uscc, full_time_staff=9, qualified_staff=3)
    assert evolve(agency, event) == replace(agency, full_time_staff=9, qualified_staff=3)


def test_suspended_then_reinstated(agency: Agency) -> None:
    until = dt.date(2020, 3, 31)
    suspended = evolve(agency, AgencySuspended(uscc=agency.uscc, until=until, reason="整改"))
    assert (suspended.status, suspended.suspended_until) == ("suspended", until)
    reinstated = evolve(suspended, AgencyReinstated(uscc=agency.uscc, reason="整改完成"))
    assert reinstated == agency


def test_deregistered(agency: Agency) -> None:
    closed = evolve(agency, AgencyDeregistered(uscc=agency.uscc, reason="解散"))
    assert (closed.status, closed.is_closed) == ("deregistered", True)


def test_revoked_while_suspended(agency: Agency) -> None:
    suspended = evolve(
        agency, AgencySuspended(uscc=agency.uscc, until=dt.date(2020, 3, 31), reason="整改")
    )
    revoked = evolve(suspended, AgencyRegistrationRevoked(uscc=agency.uscc, reason="违法"))
    assert (revoked.status, revoked.suspended_until, revoked.is_closed) == ("revoked", None, True)


def test_active_is_not_closed(agency: Agency) -> None:
    assert agency.is_closed is False


def test_empty_stream_folds_to_none() -> None:
    assert fold([]) is None


def test_event_before_registration(registered: AgencyRegistered) -> None:
    with pytest.raises(EventOutOfOrder):
        evolve(None, AgencyReinstated(uscc=registered.uscc, reason="x"))


def test_registered_twice(registered: AgencyRegistered) -> None:
    with pytest.raises(EventOutOfOrder):
        fold([registered, registered])


def test_as_registry_event(registered: AgencyRegistered) -> None:
    assert as_registry_event(registered) is registered


class SomeoneElsesEvent(DomainEvent):
    event_type: ClassVar[str] = "SomethingHappened"
    event_version: ClassVar[int] = 1
    producer: ClassVar[str] = "elsewhere"


def test_as_registry_event_refuses_other_events() -> None:
    with pytest.raises(TypeError, match=r"SomethingHappened\.v1"):
        as_registry_event(SomeoneElsesEvent())
