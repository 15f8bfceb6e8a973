"""Each registration rule with a passing and a failing case (guidance §2.1-2.2)."""

from __future__ import annotations

import datetime as dt

import pytest

from servicekit.decisions import RuleViolation
from services.registry.domain import rules


def codes(violations: list[RuleViolation]) -> list[str]:
    return [v.code for v in violations]


# --- name (民办非企业单位名称管理暂行规定) -------------------------------------------------


def test_plain_name_passes() -> None:
    assert rules.name_present("郑州市惠济区阳光社会工作服务中心") == []
    assert rules.name_without_forbidden_words("郑州市惠济区阳光社会工作服务中心") == []


@pytest.mark.parametrize("word", ["中国", "全国", "中华"])
def test_name_with_forbidden_word(word: str) -> None:
    violations = rules.name_without_forbidden_words(f"郑州{word}社会工作服务中心")
    assert [(v.code, v.field) for v in violations] == [("name_forbidden_word", "name")]
    assert word in violations[0].message_zh


def test_each_forbidden_word_is_reported() -> None:
    assert (
        codes(rules.name_without_forbidden_words("中华全国中国社工")) == ["name_forbidden_word"] * 3
    )


@pytest.mark.parametrize("name", ["", "   ", "\u3000"])
def test_blank_name(name: str) -> None:
    assert codes(rules.name_present(name)) == ["name_missing"]


# --- charter (guidance §2.2: purpose, scope and method) -------------------------------------


def test_complete_charter_passes() -> None:
    assert rules.charter_complete("以社工专业方法服务老人", "养老服务", "个案、小组") == []


def test_charter_missing_purpose() -> None:
    assert codes(rules.charter_complete(" ", "养老服务", "个案")) == ["charter_purpose_missing"]


def test_charter_missing_scope() -> None:
    assert codes(rules.charter_complete("社会工作服务", "", "个案")) == ["charter_scope_missing"]


def test_charter_missing_method() -> None:
    assert codes(rules.charter_complete("社会工作服务", "养老", "")) == ["charter_method_missing"]


def test_charter_missing_everything() -> None:
    assert codes(rules.charter_complete("", "", "")) == [
        "charter_purpose_missing",
        "charter_scope_missing",
        "charter_method_missing",
    ]


@pytest.mark.parametrize("purpose", ["发展社会工作事业", "提供专业社工服务"])
def test_purpose_naming_social_work_passes(purpose: str) -> None:
    assert rules.charter_purpose(purpose) == []


def test_purpose_not_about_social_work() -> None:
    assert codes(rules.charter_purpose("开展文化交流活动")) == ["charter_purpose_not_social_work"]


# --- staff (guidance §2.2: at least one third qualified) -----------------------------------


@pytest.mark.parametrize(
    ("full_time", "qualified"), [(1, 1), (3, 1), (4, 2), (6, 2), (6, 6), (7, 3)]
)
def test_staff_ratio_met(full_time: int, qualified: int) -> None:
    assert rules.staff_ratio(full_time, qualified) == []


@pytest.mark.parametrize(("full_time", "qualified"), [(1, 0), (3, 0), (4, 1), (6, 1), (7, 2)])
def test_qualified_share_too_low(full_time: int, qualified: int) -> None:
    violations = rules.staff_ratio(full_time, qualified)
    assert [(v.code, v.field) for v in violations] == [("qualified_staff_share", "qualified_staff")]


@pytest.mark.parametrize(("full_time", "needed"), [(1, 1), (3, 1), (4, 2), (6, 2), (7, 3)])
def test_required_qualified_staff_is_a_third_rounded_up(full_time: int, needed: int) -> None:
    assert rules.required_qualified_staff(full_time) == needed


def test_qualified_more_than_full_time() -> None:
    assert codes(rules.staff_ratio(3, 4)) == ["qualified_staff_exceeds_full_time"]


@pytest.mark.parametrize("full_time", [0, -1])
def test_no_full_time_staff(full_time: int) -> None:
    assert codes(rules.staff_ratio(full_time, 0)) == ["full_time_staff_too_few"]


def test_negative_qualified_staff() -> None:
    assert codes(rules.staff_ratio(3, -1)) == ["qualified_staff_negative"]


# --- reporting unit (reference localities, valid on the day) --------------------------------


def test_known_reporting_unit_on_a_valid_day() -> None:
    assert rules.reporting_unit_valid_on("jinshui", dt.date(2019, 3, 1)) == []
    assert rules.reporting_unit_valid_on("hangkonggang", dt.date(2013, 3, 7)) == []


def test_unknown_reporting_unit() -> None:
    assert codes(rules.reporting_unit_valid_on("kaifeng", dt.date(2019, 3, 1))) == [
        "reporting_unit_unknown"
    ]


def test_reporting_unit_not_yet_existing() -> None:
    # 郑州航空港经济综合实验区 exists from 2013-03-07 in the reference data.
    assert codes(rules.reporting_unit_valid_on("hangkonggang", dt.date(2013, 3, 6))) == [
        "reporting_unit_not_valid"
    ]


# --- service fields and target groups (reference lists, guidance §2.1) ----------------------


def test_known_fields_and_groups_pass() -> None:
    assert rules.service_fields_valid(["community_service", "culture_sports"]) == []
    assert rules.target_groups_valid(["elderly", "general_public"]) == []


def test_empty_fields_and_groups() -> None:
    assert codes(rules.service_fields_valid([])) == ["service_fields_empty"]
    assert codes(rules.target_groups_valid(())) == ["target_groups_empty"]


def test_unknown_field_and_group() -> None:
    assert codes(rules.service_fields_valid(["community_service", "astrology"])) == [
        "service_fields_unknown"
    ]
    assert codes(rules.target_groups_valid(["aliens"])) == ["target_groups_unknown"]


def test_repeated_field_and_group() -> None:
    assert codes(rules.service_fields_valid(["health_care", "health_care"])) == [
        "service_fields_duplicate"
    ]
    assert codes(rules.target_groups_valid(["youth", "elderly", "youth"])) == [
        "target_groups_duplicate"
    ]


def test_unknown_and_repeated_each_reported_once() -> None:
    assert codes(rules.service_fields_valid(["x", "x", "health_care"])) == [
        "service_fields_unknown",
        "service_fields_duplicate",
    ]


# --- priority (guidance §2.1) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "groups"),
    [
        (["community_service"], ["general_public"]),  # a priority field
        (["culture_sports"], ["elderly"]),  # a priority group
        (["poverty_relief"], ["rural_left_behind"]),  # both
    ],
)
def test_priority_when_a_priority_field_or_group(fields: list[str], groups: list[str]) -> None:
    assert rules.priority_of(fields, groups) is True


@pytest.mark.parametrize(
    ("fields", "groups"),
    [(["culture_sports", "mental_health"], ["general_public", "women"]), ([], []), (["x"], ["y"])],
)
def test_no_priority(fields: list[str], groups: list[str]) -> None:
    assert rules.priority_of(fields, groups) is False


# --- required and optional texts ------------------------------------------------------------


def test_required_text() -> None:
    assert rules.text_present("address", "花园路1号", "住所", "address") == []
    assert codes(rules.text_present("address", " ", "住所", "address")) == ["address_missing"]


def test_optional_text() -> None:
    assert rules.optional_text_present("sponsor", None, "业务主管单位", "sponsor") == []
    assert rules.optional_text_present("sponsor", "市民政局", "业务主管单位", "sponsor") == []
    assert codes(rules.optional_text_present("sponsor", "", "业务主管单位", "sponsor")) == [
        "sponsor_missing"
    ]
