"""The unified social credit code (统一社会信用代码, GB 32100-2015) as civil affairs issues it.

Layout: 1 registering department, 2 organisation category, 3-8 division code of the registering
authority, 9-17 organisation code, 18 check character.
"""

from __future__ import annotations

from collections.abc import Mapping

from socialwork_contracts.registry import AgencyKind

# The code's characters and check character are the contract's (socialwork_contracts.uscc).
from socialwork_contracts.uscc import CHARSET as CHARSET
from socialwork_contracts.uscc import LENGTH as LENGTH
from socialwork_contracts.uscc import check_character as check_character
from socialwork_contracts.uscc import uses_code_characters as uses_code_characters

CIVIL_AFFAIRS = "5"  # character 1: registered by civil affairs (民政)
FOUNDATION = "3"  # character 2 for a foundation (基金会): not an agency kind of this registry
KIND_BY_CATEGORY: Mapping[str, AgencyKind] = {
    "1": "association",  # 社会团体
    "2": "service_agency",  # 民办非企业单位 / 社会服务机构
}
ZHENGZHOU_DIVISION_PREFIX = "4101"  # GB/T 2260: 郑州市 and its counties


def with_check_character(first17: str) -> str:
    """The full 18-character code: the 17 given characters and their check character."""
    return first17 + check_character(first17)


def has_valid_check_character(code: str) -> bool:
    """True for an 18-character code of allowed characters whose last character checks."""
    if len(code) != LENGTH or not uses_code_characters(code):
        return False
    return code[-1] == check_character(code[:-1])


def kind_of(code: str) -> AgencyKind | None:
    """The agency kind that character 2 encodes, or None (foundation, other, or too short)."""
    return KIND_BY_CATEGORY.get(code[1:2])


def division_of(code: str) -> str:
    """Characters 3-8: the registering authority's division code."""
    return code[2:8]


def is_zhengzhou_division(division: str) -> bool:
    """True for a six-digit division code inside Zhengzhou (4101..)."""
    return (
        len(division) == 6
        and division.isascii()
        and division.isdigit()
        and division.startswith(ZHENGZHOU_DIVISION_PREFIX)
    )
