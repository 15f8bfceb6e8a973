"""The unified social credit code (GB 32100-2015) and the registry's rules on it."""

from __future__ import annotations

import pytest
from socialwork_contracts.registry import AgencyKind
from socialwork_contracts.uscc import check_character

from services.registry.domain.uscc import (
    has_valid_check_character,
    kind_of,
    with_check_character,
)
from services.registry.domain.uscc_rules import uscc_format, uscc_matches_kind

SERVICE_AGENCY = with_check_character("52410105MJY123456")
ASSOCIATION = with_check_character("51410100MJY654321")


def codes(uscc: str) -> list[str]:
    return [v.code for v in uscc_format(uscc)]


@pytest.mark.parametrize(
    "published",
    # Enterprise codes as published (Xiaomi, Tencent): they check the algorithm, not our rules.
    ["91110108551385082Q", "9144030071526726XG"],
)
def test_check_character_matches_published_codes(published: str) -> None:
    assert check_character(published[:17]) == published[17]
    assert has_valid_check_character(published)


def test_check_character_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="17 characters"):
        check_character("5241010")
    with pytest.raises(ValueError, match="17 characters"):
        check_character("52410105MJY12345I")


def test_valid_codes_pass() -> None:
    assert uscc_format(SERVICE_AGENCY) == []
    assert uscc_format(ASSOCIATION) == []


@pytest.mark.parametrize("uscc", [SERVICE_AGENCY[:17], SERVICE_AGENCY + "1", ""])
def test_wrong_length(uscc: str) -> None:
    assert codes(uscc) == ["uscc_length"]


@pytest.mark.parametrize("letter", ["I", "O", "S", "V", "Z", "a", "-"])
def test_forbidden_character(letter: str) -> None:
    violations = uscc_format(SERVICE_AGENCY[:9] + letter + SERVICE_AGENCY[10:])
    assert [v.code for v in violations] == ["uscc_characters"]
    assert letter in violations[0].message_en


def test_bad_check_character() -> None:
    last = SERVICE_AGENCY[-1]
    wrong = "0" if last != "0" else "1"
    assert codes(SERVICE_AGENCY[:-1] + wrong) == ["uscc_check_character"]


def test_first_character_must_be_civil_affairs() -> None:
    assert codes(with_check_character("92410105MJY123456")) == ["uscc_not_civil_affairs"]


def test_foundation_is_not_accepted() -> None:
    assert codes(with_check_character("53410105MJY123456")) == ["uscc_foundation"]


def test_unknown_category() -> None:
    assert codes(with_check_character("59410105MJY123456")) == ["uscc_category"]


@pytest.mark.parametrize("division", ["410200", "110105", "4101A5"])
def test_division_outside_zhengzhou(division: str) -> None:
    assert codes(with_check_character(f"52{division}MJY123456")) == ["uscc_division"]


def test_all_problems_of_a_well_formed_code_are_reported() -> None:
    broken = with_check_character("93110105MJY123456")
    broken = broken[:-1] + ("0" if broken[-1] != "0" else "1")
    assert codes(broken) == [
        "uscc_check_character",
        "uscc_not_civil_affairs",
        "uscc_foundation",
        "uscc_division",
    ]


def test_kind_follows_character_two() -> None:
    assert kind_of(SERVICE_AGENCY) == "service_agency"
    assert kind_of(ASSOCIATION) == "association"
    assert kind_of(with_check_character("53410105MJY123456")) is None


def test_kind_matches_code() -> None:
    assert uscc_matches_kind(SERVICE_AGENCY, "service_agency") == []
    assert uscc_matches_kind(ASSOCIATION, "association") == []


@pytest.mark.parametrize(
    ("uscc", "kind"), [(SERVICE_AGENCY, "association"), (ASSOCIATION, "service_agency")]
)
def test_kind_mismatch(uscc: str, kind: AgencyKind) -> None:
    violations = uscc_matches_kind(uscc, kind)
    assert [(v.code, v.field) for v in violations] == [("uscc_kind_mismatch", "kind")]
