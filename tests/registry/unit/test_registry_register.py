"""Given no agency / when RegisterAgency / then AgencyRegistered, or every violation."""

from __future__ import annotations

import pytest
from socialwork_contracts.registry import AgencyRegistered

from services.registry.domain.agency import Agency
from services.registry.domain.commands import RegisterAgency
from services.registry.domain.uscc import with_check_character
from tests.registry.unit.given import given, given_state


def rejected(command: RegisterAgency) -> list[tuple[str, str]]:
    caught = given().when(command).then_rejected()
    return [(v.code, v.field) for v in caught.violations]


def test_register(registration: RegisterAgency, registered: AgencyRegistered) -> None:
    assert given().when(registration).events == [registered]


def test_register_association_with_sponsor(registration: RegisterAgency) -> None:
    command = registration.model_copy(
        update={
            "uscc": with_check_character("51410100MJY654321"),
            "name": "郑州市社会工作协会",
            "kind": "association",
            "sponsor": "郑州市民政局",
        }
    )
    [event] = given().when(command).events
    assert isinstance(event, AgencyRegistered)
    assert (event.kind, event.sponsor) == ("association", "郑州市民政局")


def test_functional_zone_has_no_county_code(registration: RegisterAgency) -> None:
    [event] = given().when(registration.model_copy(update={"reporting_unit": "zhengdong"})).events
    assert isinstance(event, AgencyRegistered)
    assert (event.reporting_unit, event.county_code) == ("zhengdong", None)


def test_priority_is_derived(registration: RegisterAgency) -> None:
    command = registration.model_copy(
        update={"service_fields": ("culture_sports",), "target_groups": ("general_public",)}
    )
    [event] = given().when(command).events
    assert isinstance(event, AgencyRegistered)
    assert event.priority is False


def test_duplicate_uscc(registration: RegisterAgency, agency: Agency) -> None:
    caught = given_state(agency).when(registration).then_refused()
    assert caught.code == "duplicate_uscc"


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        ({"uscc": "5241010"}, [("uscc_length", "uscc")]),
        ({"kind": "association"}, [("uscc_kind_mismatch", "kind")]),
        ({"name": "郑州中华社工服务中心"}, [("name_forbidden_word", "name")]),
        ({"address": ""}, [("address_missing", "address")]),
        ({"legal_representative": " "}, [("legal_representative_missing", "legal_representative")]),
        ({"sponsor": ""}, [("sponsor_missing", "sponsor")]),
        ({"charter_method": ""}, [("charter_method_missing", "charter_method")]),
        ({"qualified_staff": 1}, [("qualified_staff_share", "qualified_staff")]),
        ({"reporting_unit": "luoyang"}, [("reporting_unit_unknown", "reporting_unit")]),
        ({"target_groups": ()}, [("target_groups_empty", "target_groups")]),
    ],
)
def test_single_rule_broken(
    registration: RegisterAgency, update: dict[str, object], expected: list[tuple[str, str]]
) -> None:
    assert rejected(registration.model_copy(update=update)) == expected


def test_every_violation_is_collected(registration: RegisterAgency) -> None:
    command = registration.model_copy(
        update={
            "uscc": with_check_character("52410105MJY123456")[:-1] + "I",
            "name": "全国社会工作服务中心",
            "charter_purpose": "",
            "charter_scope": "",
            "full_time_staff": 4,
            "qualified_staff": 1,
            "reporting_unit": "nowhere",
            "service_fields": ("community_service", "community_service"),
            "target_groups": ("martians",),
        }
    )
    assert rejected(command) == [
        ("uscc_characters", "uscc"),
        ("name_forbidden_word", "name"),
        ("charter_purpose_missing", "charter_purpose"),
        ("charter_scope_missing", "charter_scope"),
        ("qualified_staff_share", "qualified_staff"),
        ("reporting_unit_unknown", "reporting_unit"),
        ("service_fields_duplicate", "service_fields"),
        ("target_groups_unknown", "target_groups"),
    ]


def test_rejection_carries_both_languages(registration: RegisterAgency) -> None:
    caught = given().when(registration.model_copy(update={"name": "中国社工"})).then_rejected()
    [violation] = caught.violations
    assert "中国" in violation.message_zh
    assert "中国" in violation.message_en


def test_registration_names_the_group_in_preparation_it_ends(
    registration: RegisterAgency,
) -> None:
    # issue 11 §2: the registration of an assisted group (注册协助) names its provisional id.
    group = "6f1c1d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"
    [event] = given().when(registration.model_copy(update={"provisional_id": group})).events
    assert isinstance(event, AgencyRegistered)
    assert event.provisional_id == group


def test_a_provisional_id_is_a_uuid(registration: RegisterAgency) -> None:
    bad = registration.model_copy(update={"provisional_id": "52410105MJY123456X"})
    assert rejected(bad) == [("provisional_id_format", "provisional_id")]
