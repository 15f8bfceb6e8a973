"""Rules on the unified social credit code a registration gives (GB 32100-2015; the registry
registers civil-affairs, Zhengzhou, agency-kind codes)."""

from __future__ import annotations

from socialwork_contracts.registry import AgencyKind

from servicekit.decisions import RuleViolation
from services.registry.domain import uscc as code


def uscc_format(uscc: str) -> list[RuleViolation]:
    """GB 32100-2015 shape and check character; a civil-affairs, Zhengzhou, agency-kind code."""
    if len(uscc) != code.LENGTH:
        return [_uscc("uscc_length", f"应为18位，实为{len(uscc)}位", f"has {len(uscc)} characters")]
    if not code.uses_code_characters(uscc):
        bad = "".join(sorted({c for c in uscc if c not in code.CHARSET}))
        return [
            _uscc("uscc_characters", f"含不允许的字符：{bad}", f"has characters not allowed: {bad}")
        ]
    found: list[RuleViolation] = []
    # Length and characters checked above: the check character alone is left to check.
    if uscc[-1] != code.check_character(uscc[:-1]):
        found.append(_uscc("uscc_check_character", "校验码错误", "has a wrong check character"))
    if uscc[0] != code.CIVIL_AFFAIRS:
        found.append(_uscc("uscc_not_civil_affairs", "首位应为5（民政）", "must start with 5"))
    if uscc[1] == code.FOUNDATION:
        found.append(_uscc("uscc_foundation", "基金会不在本系统登记", "is a foundation's code"))
    elif code.kind_of(uscc) is None:
        found.append(_uscc("uscc_category", "第2位应为1或2", "character 2 must be 1 or 2"))
    if not code.is_zhengzhou_division(code.division_of(uscc)):
        found.append(
            _uscc(
                "uscc_division",
                "第3-8位应为郑州市行政区划代码（4101开头）",
                "characters 3-8 must be a Zhengzhou division code (4101..)",
            )
        )
    return found


def uscc_matches_kind(uscc: str, kind: AgencyKind) -> list[RuleViolation]:
    """Character 2 of the code and the declared kind agree (1 association, 2 service agency)."""
    encoded = code.kind_of(uscc)
    if encoded is None or encoded == kind:
        return []
    return [
        RuleViolation(
            "uscc_kind_mismatch",
            "kind",
            f"机构类型与信用代码不符（代码表示{_KIND_ZH[encoded]}）",
            f"kind {kind} does not match the code, which encodes {encoded}",
        )
    ]


_KIND_ZH: dict[AgencyKind, str] = {"association": "社会团体", "service_agency": "民办非企业单位"}


def _uscc(violation: str, message_zh: str, message_en: str) -> RuleViolation:
    return RuleViolation(
        violation,
        "uscc",
        f"统一社会信用代码{message_zh}",
        f"the unified social credit code {message_en}",
    )
