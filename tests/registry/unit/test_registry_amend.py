"""Given a registered agency / when AmendAgencyProfile / then only what changed is recorded."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from socialwork_contracts.registry import AgencyProfileAmended

from services.registry.domain.agency import Agency, evolve
from services.registry.domain.commands import AmendAgencyProfile
from tests.registry.unit.given import given_state

ON = dt.date(2020, 6, 1)


def amend(agency: Agency, **changes: object) -> AgencyProfileAmended:
    [event] = (
        given_state(agency)
        .when(AmendAgencyProfile.model_validate({"uscc": agency.uscc, "amended_on": ON, **changes}))
        .events
    )
    assert isinstance(event, AgencyProfileAmended)
    return event


def rejected(agency: Agency, **changes: object) -> list[str]:
    command = AmendAgencyProfile.model_validate({"uscc": agency.uscc, "amended_on": ON, **changes})
    caught = given_state(agency).when(command).then_rejected()
    return [v.code for v in caught.violations]


def test_rename(agency: Agency) -> None:
    assert amend(agency, name="郑州市金水区朝阳社会工作服务中心") == AgencyProfileAmended(
        uscc=agency.uscc,
        name="郑州市金水区朝阳社会工作服务中心",
        priority=True,
        changed_fields=["name"],
    )


def test_only_changed_fields_are_recorded(agency: Agency) -> None:
    event = amend(agency, name=agency.name, address="郑州市金水区经三路2号")
    assert event.changed_fields == ["address"]
    assert event.name is None


def test_move_to_a_functional_zone_clears_the_county(agency: Agency) -> None:
    event = amend(agency, reporting_unit="zhengdong")
    assert event.changed_fields == ["reporting_unit", "county_code"]
    assert (event.reporting_unit, event.county_code) == ("zhengdong", None)
    moved = evolve(agency, event)
    assert (moved.reporting_unit, moved.county_code) == ("zhengdong", None)


def test_move_to_another_county(agency: Agency) -> None:
    event = amend(agency, reporting_unit="zhongmou")
    assert (event.reporting_unit, event.county_code) == ("zhongmou", "410122")


def test_move_between_zones_keeps_the_county(agency: Agency) -> None:
    in_zone = replace(agency, reporting_unit="zhengdong", county_code=None)
    assert amend(in_zone, reporting_unit="gaoxin").changed_fields == ["reporting_unit"]


def test_unknown_reporting_unit(agency: Agency) -> None:
    assert rejected(agency, reporting_unit="kaifeng") == ["reporting_unit_unknown"]


def test_priority_is_rederived(agency: Agency) -> None:
    event = amend(agency, service_fields=["culture_sports"], target_groups=["general_public"])
    assert event.priority is False
    assert event.changed_fields == ["service_fields", "target_groups", "priority"]
    assert evolve(agency, event).priority is False


def test_field_change_keeping_priority(agency: Agency) -> None:
    event = amend(agency, service_fields=["health_care"])
    assert (event.priority, event.changed_fields) == (True, ["service_fields"])


def test_reordered_list_is_a_change(agency: Agency) -> None:
    assert amend(agency, target_groups=["youth", "elderly"]).changed_fields == ["target_groups"]


@pytest.mark.parametrize("word", ["中国", "全国", "中华"])
def test_new_name_is_checked(agency: Agency, word: str) -> None:
    assert rejected(agency, name=f"{word}社工服务中心") == ["name_forbidden_word"]


def test_new_lists_are_checked(agency: Agency) -> None:
    assert rejected(agency, service_fields=[], target_groups=["elderly", "elderly"]) == [
        "service_fields_empty",
        "target_groups_duplicate",
    ]


def test_new_charter_parts_are_checked(agency: Agency) -> None:
    assert rejected(agency, charter_purpose="文化交流", charter_method=" ") == [
        "charter_purpose_not_social_work",
        "charter_method_missing",
    ]


def test_every_violation_is_collected(agency: Agency) -> None:
    assert rejected(
        agency, name="中华社工", address="", legal_representative="", service_fields=["x"]
    ) == [
        "name_forbidden_word",
        "address_missing",
        "legal_representative_missing",
        "service_fields_unknown",
    ]


def test_charter_amendment(agency: Agency) -> None:
    event = amend(agency, charter_scope="社区服务、儿童服务", charter_method="个案、小组")
    assert event.changed_fields == ["charter_scope", "charter_method"]
    amended = evolve(agency, event)
    assert (amended.charter_scope, amended.charter_method) == ("社区服务、儿童服务", "个案、小组")
    assert amended.charter_purpose == agency.charter_purpose


def test_add_then_remove_sponsor(agency: Agency) -> None:
    added = amend(agency, sponsor="金水区民政局")
    assert (added.sponsor, added.changed_fields) == ("金水区民政局", ["sponsor"])
    sponsored = evolve(agency, added)
    removed = amend(sponsored, remove_sponsor=True)
    assert (removed.sponsor, removed.changed_fields) == (None, ["sponsor"])
    assert evolve(sponsored, removed).sponsor is None


def test_sponsor_given_and_removed(agency: Agency) -> None:
    assert rejected(agency, sponsor="金水区民政局", remove_sponsor=True) == ["sponsor_conflict"]


def test_blank_sponsor(agency: Agency) -> None:
    assert rejected(agency, sponsor=" ") == ["sponsor_missing"]


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"name": "郑州市金水区向阳社会工作服务中心"},
        {"remove_sponsor": True},  # it has none
        {"reporting_unit": "jinshui", "service_fields": ["community_service"]},
    ],
)
def test_nothing_changed(agency: Agency, changes: dict[str, object]) -> None:
    assert rejected(agency, **changes) == ["nothing_changed"]


def test_amend_while_suspended(agency: Agency) -> None:
    suspended = replace(agency, status="suspended")
    assert amend(suspended, address="新地址").changed_fields == ["address"]
