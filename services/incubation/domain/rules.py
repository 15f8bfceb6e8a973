"""Incubation rules (guidance §3.2, §5.2-5.3; domain.md). Each returns its violations, empty
when it holds, so a decision reports every broken rule at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from socialwork_contracts.periods import UnknownCalendarYear, is_working_day

from servicekit.decisions import RuleViolation
from services.incubation.domain.incubation_base import Facilities, Room
from services.incubation.domain.situation import KnownAgency, Situation

# guidance §3.2: 至少设立3-5间办公室，每间不少于15m²，其中包括一间面积较大的共用会议室或培训室.
MIN_OFFICES = 3
MIN_OFFICE_AREA_M2 = Decimal("15")

SUPPORT_TYPES = (
    "office_equipment",
    "registration_help",
    "funding",
    "capacity_building",
    "guidance",
    "policy_counselling",
    "publicity",
    "training",
    "other",
)
# guidance §2.2: 种子基金、公益创投、项目大赛、补贴奖励、提供场所、减免费用.
FUNDING_TYPES = (
    "seed_fund",
    "venture_philanthropy",
    "project_competition",
    "subsidy_or_award",
    "fee_waiver",
    "government_purchase",
    "other",
)


def hardware_standard(facilities: Facilities) -> list[RuleViolation]:
    """guidance §3.2: ≥3 offices of ≥15 m², one the larger shared room; desks, projector, fire."""
    found: list[RuleViolation] = []
    big = [r for r in facilities.offices if r.area_m2 >= MIN_OFFICE_AREA_M2]
    if len(big) < MIN_OFFICES:
        found.append(
            RuleViolation(
                "too_few_offices",
                "offices",
                f"面积不少于15m²的办公室只有{len(big)}间，至少需要3间",
                f"only {len(big)} offices of at least 15 m2; at least 3 are needed",
            )
        )
    shared = [r for r in big if r.shared_room]
    private = [r for r in facilities.offices if not r.shared_room]
    largest_private = max((r.area_m2 for r in private), default=Decimal(0))
    if not any(r.area_m2 >= largest_private for r in shared):
        found.append(
            RuleViolation(
                "no_shared_room",
                "offices",
                "缺少面积较大（不小于其他办公室）的共用会议室或培训室",
                "no shared meeting or training room at least as large as every other office",
            )
        )
    for ok, code, zh, en in (
        (facilities.has_desks_and_chairs, "no_desks_and_chairs", "未配备办公桌椅", "no desks"),
        (facilities.has_projector, "no_projector", "未配备投影仪", "no projector"),
        (
            facilities.fire_safety_compliant,
            "fire_safety_not_compliant",
            "消防设施未按标准配备",
            "fire-safety equipment not to standard",
        ),
    ):
        if not ok:
            found.append(RuleViolation(code, "facilities", zh, en))
    return found


def allottable_offices(facilities: Facilities) -> tuple[Room, ...]:
    """Offices one agency may be given: not the shared room, and of at least 15 m²."""
    return tuple(
        r for r in facilities.offices if not r.shared_room and r.area_m2 >= MIN_OFFICE_AREA_M2
    )


def offices_well_formed(offices: Sequence[object]) -> list[RuleViolation]:
    """Office ids are unique within the base."""
    ids = [getattr(o, "office_id", "") for o in offices]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    return [
        RuleViolation("office_id_duplicate", "offices", f"办公室编号重复：{i}", f"office {i} twice")
        for i in repeated
    ]


# 公示期: at least this many working days, by the day the notice starts (dated configuration;
# the guidance is silent — five working days is the usual length of a civil-affairs 公示).
NOTICE_WORKING_DAYS: tuple[tuple[dt.date, int], ...] = ((dt.date(2018, 1, 1), 5),)


def notice_working_days(starts_on: dt.date) -> int:
    in_force = [n for since, n in NOTICE_WORKING_DAYS if since <= starts_on]
    return in_force[-1] if in_force else NOTICE_WORKING_DAYS[0][1]


def notice_window(starts_on: dt.date, ends_on: dt.date) -> list[RuleViolation]:
    """The window [starts_on, ends_on] holds at least the working days in force."""
    needed = notice_working_days(starts_on)
    try:
        days = sum(
            is_working_day(starts_on + dt.timedelta(days=i))
            for i in range((ends_on - starts_on).days + 1)
        )
    except UnknownCalendarYear as exc:
        return [RuleViolation("calendar_unknown", "ends_on", exc.message_zh, str(exc))]
    if ends_on >= starts_on and days >= needed:
        return []
    return [
        RuleViolation(
            "public_notice_too_short",
            "ends_on",
            f"公示期应不少于{needed}个工作日（现为{max(days, 0)}个）",
            f"the notice must span at least {needed} working days ({max(days, 0)} given)",
        )
    ]


ADMISSIBLE_STATUSES = frozenset({"active", "preparing"})


def registered(agency: KnownAgency | None) -> list[RuleViolation]:
    """A group in preparation cannot graduate: only a registered agency leaves mature (出壳)."""
    if agency is None or agency.status != "preparing":
        return []
    return [
        RuleViolation(
            "group_not_registered",
            "uscc",
            "筹备中的社会组织尚未登记，不能出壳",
            "a group in preparation must be registered before it can graduate",
        )
    ]


def agency_admissible(agency: KnownAgency | None, uscc: str) -> list[RuleViolation]:
    """Known to the registry, active, and on neither credit list (domain.md, supervision)."""
    if agency is None:
        return [
            RuleViolation(
                "agency_not_registered",
                "uscc",
                f"登记机关无此机构（{uscc}）",
                f"no agency {uscc} is known from the registry",
            )
        ]
    found: list[RuleViolation] = []
    # 注册协助 (issue 11 §2): a group in preparation is admitted under its provisional id.
    if agency.status not in ADMISSIBLE_STATUSES:
        found.append(
            RuleViolation(
                "agency_not_active",
                "uscc",
                f"机构登记状态为{agency.status}，不是正常活动",
                f"the agency is {agency.status}, not active",
            )
        )
    found += not_listed(agency)
    return found


def not_listed(agency: KnownAgency | None) -> list[RuleViolation]:
    """An agency on the abnormal or the serious list may not be admitted, funded or graduated."""
    if agency is None:
        return []
    return [
        RuleViolation(
            "agency_listed",
            "uscc",
            "机构已列入" + ("活动异常名录" if name == "abnormal" else "严重违法失信名单"),
            f"the agency is on the {name} list",
        )
        for name in agency.lists
    ]


def date_order(
    field: str, earlier: dt.date, later: dt.date, zh: str, en: str
) -> list[RuleViolation]:
    """`later` is on or after `earlier` (both calendar dates; the same day is allowed)."""
    if later >= earlier:
        return []
    return [RuleViolation(f"{field}_too_early", field, zh, en)]


def text_present(field: str, value: str | None, label_zh: str) -> list[RuleViolation]:
    if value is not None and value.strip():
        return []
    return [
        RuleViolation(
            f"{field}_missing", field, f"{label_zh}不能为空", f"{field} must not be blank"
        )
    ]


def money(field: str, amount: Decimal | None, *, required: bool) -> list[RuleViolation]:
    """Exact yuan: positive, at most two decimal places."""
    if amount is None:
        if required:
            return [RuleViolation(f"{field}_missing", field, "金额不能为空", "amount is required")]
        return []
    exponent = amount.as_tuple().exponent
    if amount <= 0 or not isinstance(exponent, int) or exponent < -2:
        return [
            RuleViolation(
                f"{field}_invalid",
                field,
                "金额应为正数且最多两位小数",
                "amount must be > 0, 2 places",
            )
        ]
    return []


def not_elsewhere(situation: Situation) -> list[RuleViolation]:
    """Invariant: an agency is in at most one incubation (approved, signed or incubating)."""
    if not situation.agency_holding:
        return []
    return [
        RuleViolation(
            "agency_already_incubating",
            "uscc",
            "该机构已在孵化中（或已获准入孵），同一时间只能入孵一处",
            f"the agency already holds a place in incubation {situation.agency_holding[0]}",
        )
    ]
