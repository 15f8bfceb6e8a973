"""Stored history keeps loading: old versions are upcast; unknown types and versions are refused."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from socialwork_contracts.catalog import CURRENT_VERSION, UnknownEventType, load, upcast
from socialwork_contracts.registry import AgencyRegistered


def _stored_v1(locality: str) -> dict[str, Any]:
    return {
        "uscc": "52410105MJ0A1B2C5W",
        "name": "郑州市金水区同心社会工作服务中心",
        "kind": "service_agency",
        "locality": locality,
        "address": "郑州市金水区文化路街道农业路东段8号",
        "legal_representative": "王丽娟",
        "charter_purpose": "运用社会工作专业方法服务社区困难群体",
        "charter_scope": "社区服务、老年人服务",
        "charter_method": "个案工作、小组工作、社区工作",
        "full_time_staff": 5,
        "qualified_staff": 2,
        "service_fields": ["community_service"],
        "target_groups": ["elderly"],
        "priority": True,
        "registered_on": "2018-09-20",
    }


def test_v1_agency_registered_loads_as_v2() -> None:
    event = load("AgencyRegistered", 1, _stored_v1("jinshui"))
    assert isinstance(event, AgencyRegistered)
    assert event.event_version == 2
    assert event.reporting_unit == "jinshui"
    assert event.county_code == "410105"
    assert event.sponsor is None
    assert event.registered_on == dt.date(2018, 9, 20)


def test_functional_zone_has_no_county_code() -> None:
    event = load("AgencyRegistered", 1, _stored_v1("zhengdong"))
    assert isinstance(event, AgencyRegistered)
    assert event.reporting_unit == "zhengdong"
    assert event.county_code is None


def test_upcasting_leaves_the_stored_payload_untouched() -> None:
    stored = _stored_v1("jinshui")
    version, upgraded = upcast("AgencyRegistered", 1, stored)
    assert version == CURRENT_VERSION["AgencyRegistered"] == 2
    assert "locality" not in upgraded
    assert stored["locality"] == "jinshui"


def test_current_version_loads_unchanged() -> None:
    v2 = {**_stored_v1("erqi"), "reporting_unit": "erqi", "county_code": "410103"}
    del v2["locality"]
    event = load("AgencyRegistered", 2, v2)
    assert isinstance(event, AgencyRegistered)
    assert event.county_code == "410103"


def test_unknown_fields_are_ignored() -> None:
    payload = {**_stored_v1("jinshui"), "added_in_a_later_minor_change": "x"}
    assert load("AgencyRegistered", 1, payload).event_type == "AgencyRegistered"


def test_unknown_type_is_refused() -> None:
    with pytest.raises(UnknownEventType):
        load("AgencyTeleported", 1, {})


def test_newer_version_than_the_catalog_is_refused() -> None:
    with pytest.raises(UnknownEventType):
        load("AgencyRegistered", 3, _stored_v1("jinshui"))


def test_unknown_event_type_is_a_lookup_error() -> None:
    # Consumers may catch LookupError to skip-and-record without importing the class.
    assert issubclass(UnknownEventType, LookupError)
