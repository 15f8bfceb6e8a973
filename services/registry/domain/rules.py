"""Registration rules (guidance §2.1-2.2; 民办非企业单位登记管理暂行条例).

Each rule returns its violations, empty when it holds, so a decision can collect every violation
of a command instead of stopping at the first.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from functools import cache

from socialwork_contracts.reference import Classification, locality, service_fields, target_groups

from servicekit.decisions import RuleViolation

# 民办非企业单位名称管理暂行规定: names may not contain these words (reserved for national bodies).
FORBIDDEN_NAME_WORDS = ("中国", "全国", "中华")
# guidance §2.2 "章程中要明确社会工作服务宗旨": the purpose names social work in one of these forms.
SOCIAL_WORK_WORDS = ("社会工作", "社工")


def name_present(name: str) -> list[RuleViolation]:
    """The name is not blank."""
    return text_present("name", name, "机构名称", "name")


def name_without_forbidden_words(name: str) -> list[RuleViolation]:
    """No 中国, 全国 or 中华 in the name: one violation per word found."""
    return [
        RuleViolation(
            "name_forbidden_word",
            "name",
            f"名称不得含有“{word}”字样",
            f"the name may not contain {word}",
        )
        for word in FORBIDDEN_NAME_WORDS
        if word in name
    ]


def charter_purpose(purpose: str) -> list[RuleViolation]:
    """The charter states a purpose, and that purpose is social work.

    guidance §2.2 asks the charter to make clear the *social-work* purpose (社会工作服务宗旨); we
    read that as: the stated purpose mentions 社会工作 or 社工. A blank purpose is only "missing".
    """
    if not purpose.strip():
        return text_present("charter_purpose", purpose, "章程宗旨", "charter purpose")
    if any(word in purpose for word in SOCIAL_WORK_WORDS):
        return []
    return [
        RuleViolation(
            "charter_purpose_not_social_work",
            "charter_purpose",
            "章程宗旨应明确为社会工作服务宗旨（含“社会工作”或“社工”）",
            "the charter purpose must state a social-work purpose",
        )
    ]


def charter_scope(scope: str) -> list[RuleViolation]:
    """The charter states the scope of service (业务范围)."""
    return text_present("charter_scope", scope, "章程业务范围", "charter scope")


def charter_method(method: str) -> list[RuleViolation]:
    """The charter states the method of service (服务方式)."""
    return text_present("charter_method", method, "章程服务方式", "charter method")


def charter_complete(purpose: str, scope: str, method: str) -> list[RuleViolation]:
    """guidance §2.2: the charter states the social-work purpose, scope and method."""
    return charter_purpose(purpose) + charter_scope(scope) + charter_method(method)


def required_qualified_staff(full_time_staff: int) -> int:
    """guidance §2.2 "三分之一以上" (以上 includes the bound): ⌈full-time ÷ 3⌉, in integers."""
    return -(-full_time_staff // 3)


def staff_ratio(full_time_staff: int, qualified_staff: int) -> list[RuleViolation]:
    """Registration: possible counts, and qualified ≥ ⌈full-time ÷ 3⌉."""
    return staff_counts(full_time_staff, qualified_staff) or qualified_share(
        full_time_staff, qualified_staff
    )


def qualified_share_met(full_time_staff: int, qualified_staff: int) -> bool:
    return qualified_staff >= required_qualified_staff(full_time_staff)


def staff_counts(full_time_staff: int, qualified_staff: int) -> list[RuleViolation]:
    """Counts that can exist: at least one full-time worker; 0 ≤ qualified ≤ full-time."""
    if full_time_staff < 1:
        return [
            RuleViolation(
                "full_time_staff_too_few",
                "full_time_staff",
                "专职工作人员至少1人",
                "at least one full-time staff member",
            )
        ]
    if qualified_staff < 0:
        return [
            RuleViolation(
                "qualified_staff_negative",
                "qualified_staff",
                "持证人数不能为负",
                "qualified staff cannot be negative",
            )
        ]
    if qualified_staff > full_time_staff:
        return [
            RuleViolation(
                "qualified_staff_exceeds_full_time",
                "qualified_staff",
                "持证人数不能多于专职人数",
                "qualified staff cannot exceed full-time staff",
            )
        ]
    return []


def qualified_share(full_time_staff: int, qualified_staff: int) -> list[RuleViolation]:
    """A third or more of full-time staff qualified (guidance §2.2)."""
    needed = required_qualified_staff(full_time_staff)
    if qualified_staff >= needed:
        return []
    return [
        RuleViolation(
            "qualified_staff_share",
            "qualified_staff",
            f"专职人员中应有三分之一以上持证或具社工本科以上学历（至少{needed}人）",
            f"at least a third of full-time staff must be qualified ({needed})",
        )
    ]


def reporting_unit_valid_on(reporting_unit: str, day: dt.date) -> list[RuleViolation]:
    """The reporting unit is one of the reference localities and exists on that day."""
    try:
        unit = locality(reporting_unit)
    except KeyError:
        return [
            RuleViolation(
                "reporting_unit_unknown",
                "reporting_unit",
                f"未知的统计单位：{reporting_unit}",
                f"unknown reporting unit {reporting_unit}",
            )
        ]
    if unit.valid_on(day):
        return []
    return [
        RuleViolation(
            "reporting_unit_not_valid",
            "reporting_unit",
            f"统计单位{unit.name}在{day.isoformat()}不存在",
            f"reporting unit {reporting_unit} does not exist on {day.isoformat()}",
        )
    ]


def service_fields_valid(ids: Sequence[str]) -> list[RuleViolation]:
    """Service fields: at least one, each from the reference list, none twice."""
    return _classified("service_fields", "服务领域", ids, service_fields)


def target_groups_valid(ids: Sequence[str]) -> list[RuleViolation]:
    """Target groups: at least one, each from the reference list, none twice."""
    return _classified("target_groups", "服务对象", ids, target_groups)


def priority_of(fields: Sequence[str], groups: Sequence[str]) -> bool:
    """guidance §2.1: a priority agency serves a priority field or group (derived, not typed in)."""
    flagged = _priority_ids()
    return any(i in flagged for i in (*fields, *groups))


# The reference lists are fixed for the process (cached by the contracts): their id sets once,
# not on every decision (issue 12: rebuilt per command, they were 2% of the registry's loop).
@cache
def _priority_ids() -> frozenset[str]:
    return frozenset(c.id for c in (*service_fields(), *target_groups()) if c.priority)


@cache
def _ids(reference: Callable[[], tuple[Classification, ...]]) -> frozenset[str]:
    return frozenset(c.id for c in reference())


def text_present(field: str, value: str, label_zh: str, label_en: str) -> list[RuleViolation]:
    """A required text is not blank."""
    if value.strip():
        return []
    return [
        RuleViolation(
            f"{field}_missing", field, f"{label_zh}不能为空", f"{label_en} must not be blank"
        )
    ]


def optional_text_present(
    field: str, value: str | None, label_zh: str, label_en: str
) -> list[RuleViolation]:
    """An optional text is either absent or not blank."""
    return [] if value is None else text_present(field, value, label_zh, label_en)


def provisional_id_format(provisional_id: str | None) -> list[RuleViolation]:
    """A group in preparation's provisional id is a UUID (never a credit code; issue 11 §2)."""
    if provisional_id is None:
        return []
    try:
        uuid.UUID(provisional_id)
    except ValueError:
        pass
    else:
        if len(provisional_id) == 36:
            return []
    return [
        RuleViolation(
            "provisional_id_format",
            "provisional_id",
            "临时标识应为筹备组的UUID",
            "the provisional id must be the group's UUID",
        )
    ]


def _classified(
    field: str,
    label_zh: str,
    ids: Sequence[str],
    reference: Callable[[], tuple[Classification, ...]],
) -> list[RuleViolation]:
    label_en = field.replace("_", " ")
    if not ids:
        return [
            RuleViolation(
                f"{field}_empty",
                field,
                f"{label_zh}至少选择一项",
                f"choose at least one of the {label_en}",
            )
        ]
    known = _ids(reference)
    if len(set(ids)) == len(ids) and known.issuperset(ids):
        return []  # the usual case, without the walk below
    unknown = [i for i in dict.fromkeys(ids) if i not in known]
    repeated = [i for i in dict.fromkeys(ids) if ids.count(i) > 1]
    return [
        RuleViolation(
            f"{field}_unknown", field, f"未知的{label_zh}：{i}", f"unknown {label_en}: {i}"
        )
        for i in unknown
    ] + [
        RuleViolation(
            f"{field}_duplicate", field, f"{label_zh}重复：{i}", f"{label_en} repeated: {i}"
        )
        for i in repeated
    ]


# Not a rule of the guidance: an amendment or staff change that changes nothing is refused.
NOTHING_CHANGED = RuleViolation("nothing_changed", "uscc", "没有任何变更", "nothing would change")
