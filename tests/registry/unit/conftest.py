"""Fixtures for the registry's pure-domain tests: one valid registration and its event."""

from __future__ import annotations

import datetime as dt

import pytest
from socialwork_contracts.registry import AgencyRegistered

from services.registry.domain.agency import Agency, fold
from services.registry.domain.commands import RegisterAgency
from services.registry.domain.uscc import with_check_character


@pytest.fixture
def registration() -> RegisterAgency:
    """A 民办社会工作服务机构 in 金水区 that meets every rule (6 full-time, 2 qualified)."""
    return RegisterAgency(
        uscc=with_check_character("52410105MJY123456"),
        name="郑州市金水区向阳社会工作服务中心",
        kind="service_agency",
        reporting_unit="jinshui",
        address="郑州市金水区花园路1号",
        legal_representative="王芳",
        charter_purpose="运用社会工作专业方法服务社区居民",
        charter_scope="社区服务、老年人服务、青少年服务",
        charter_method="个案工作、小组工作、社区工作",
        full_time_staff=6,
        qualified_staff=2,
        service_fields=("community_service",),
        target_groups=("elderly", "youth"),
        registered_on=dt.date(2019, 3, 1),
    )


@pytest.fixture
def registered(registration: RegisterAgency) -> AgencyRegistered:
    """The event the registration above produces."""
    return AgencyRegistered(
        uscc=registration.uscc,
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
        service_fields=["community_service"],
        target_groups=["elderly", "youth"],
        priority=True,
        registered_on=dt.date(2019, 3, 1),
    )


@pytest.fixture
def uscc(registered: AgencyRegistered) -> str:
    return registered.uscc


@pytest.fixture
def agency(registered: AgencyRegistered) -> Agency:
    """Given: the agency is registered and active."""
    state = fold([registered])
    assert state is not None
    return state
