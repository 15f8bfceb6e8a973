"""Mid-year and year-end figures (guidance §6.3), priority coverage, trends and credit lists."""

from __future__ import annotations

import datetime as dt
import operator
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate, compress
from typing import Any, TypedDict

from socialwork_contracts import reference
from socialwork_contracts.periods import add_years

from services.reporting.domain import operations as ops
from services.reporting.domain.periods import Period
from services.reporting.domain.records import Records
from services.reporting.domain.state import AgencyView, BaseView, CityState, Listing, agency_unit

Figures = dict[str, int | str]
LIVE_STATUSES = ("active", "suspended")  # registered and not deregistered or revoked
FUNDING_TYPES = (
    ("seed_fund", "种子基金"),
    ("venture_philanthropy", "公益创投"),
    ("project_competition", "项目大赛"),
    ("subsidy_or_award", "补贴或奖励"),
    ("fee_waiver", "费用减免"),
    ("government_purchase", "政府购买服务"),
    ("other", "其他"),
)
CONCLUSIONS = (
    ("qualified", "合格"),
    ("basically_qualified", "基本合格"),
    ("unqualified", "不合格"),
    ("filed", "已报送"),
    ("not_filed", "未报送"),
)
CATEGORIES = (
    ("acting_against_charter", "违反章程"),
    ("fund_fraud_or_misuse", "骗取挪用资金"),
    ("false_information", "虚假信息"),
    ("infringing_recipients", "侵害服务对象"),
    ("commercial_activity", "营利性经营"),
    ("office_subletting", "转租共用办公室"),
    ("premises_altered", "擅改场地"),
    ("unrelated_activity", "无关活动"),
    ("refusing_inspection", "拒绝检查"),
    ("qualified_staff_below_ratio", "持证人员不足"),
    ("other", "其他"),
)

# Column key -> Chinese header, in report order (also the CSV/Excel columns).
FIGURE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("bases_operating", "运营中基地数"),
    ("bases_city_level", "市级基地"),
    ("bases_county_level", "县（市、区）级基地"),
    ("bases_township_level", "乡镇（街道）级基地"),
    ("bases_meeting_standard", "硬件达标基地"),
    ("bases_below_standard", "硬件未达标基地"),
    ("bases_new", "本期新建基地"),
    ("bases_closed", "本期停止运营基地"),
    ("agencies_registered", "登记在册机构"),
    ("agencies_active", "正常活动机构"),
    ("agencies_suspended", "停止活动机构"),
    ("agencies_new", "本期新登记机构"),
    ("agencies_deregistered_or_revoked", "本期注销或撤销机构"),
    ("agencies_priority", "重点机构"),
    ("agencies_incubating", "在孵机构"),
    ("incubations_started", "本期入孵"),
    ("agencies_graduated", "本期出壳"),
    ("incubations_terminated", "本期退驻"),
    ("funding_total_yuan", "资金扶持合计（元）"),
    *((f"funding_{k}_yuan", f"{zh}（元）") for k, zh in FUNDING_TYPES),
    ("training_sessions", "培训场次"),
    ("training_hours", "培训时长（小时）"),
    ("training_attendees", "培训人次"),
    *((f"inspections_{k}", f"年检{zh}") for k, zh in CONCLUSIONS),
    ("violations", "本期违规"),
    *((f"violations_{k}", f"违规：{zh}") for k, zh in CATEGORIES),
    ("rectifications_ordered", "本期责令整改"),
    ("rectifications_confirmed", "本期整改到位"),
    ("rectifications_overdue", "本期逾期未整改"),
    ("rectifications_open", "期末未完成整改"),
    ("listed_abnormal", "期末活动异常名录"),
    ("listed_serious", "期末严重违法失信名单"),
    ("listings_new", "本期列入名录"),
    ("follow_ups", "本期出壳机构跟进评估"),
    ("follow_ups_unqualified", "跟进评估不合格"),
    *ops.OPERATION_COLUMNS,
    *ops.SERVICE_COLUMNS,
    *ops.DEVELOPMENT_COLUMNS,
)


# What the half-year report counts, as its header says (guidance §6.3: 运营情况、机构发展情况、
# 提供专业服务情况). "本期" figures count facts whose own date (occurrence) falls within the
# period; "期末" figures are the state on its last day. Asked with `recorded_until`, only facts
# recorded by that instant count (a backdated entry shows in later answers, never earlier ones).
# Bases, stays, funding, training, services and base facts count in the base's unit; agencies,
# supervision records and annual reports in the agency's.
class Section(TypedDict):
    key: str
    title: str
    columns: list[str]
    counts: str


SECTIONS: tuple[Section, ...] = (
    {
        "key": "base_operation",
        "title": "基地运营情况 Base operation",
        "columns": [
            k
            for k, _ in FIGURE_COLUMNS
            if k.startswith(("bases_", "incubations_", "agencies_incubating", "agencies_graduated"))
            or k.startswith(("funding_", "training_"))
        ]
        + [k for k, _ in ops.OPERATION_COLUMNS],
        "counts": "基地数量与层级、硬件达标、办公室与在用、专职人员（期末最近一次统计）、基地经费"
        "（财政预算/其他来源，按到账日）、运行评估（按评估日）、入孵出孵退驻、资金扶持、培训；"
        "期满未续驻与长期未开展活动为系统按日标记的事实 (term overruns and inactivity are "
        "facts the scheduled check records, dated their day)",
    },
    {
        "key": "agency_development",
        "title": "机构发展情况 Agency development",
        "columns": [
            k
            for k, _ in FIGURE_COLUMNS
            if k.startswith(("agencies_", "inspections_", "violations", "rectifications_"))
            or k.startswith(("listed_", "listings_", "follow_ups"))
        ]
        + [k for k, _ in ops.DEVELOPMENT_COLUMNS],
        "counts": "登记在册机构（不含注销撤销）、注册协助筹备组（受理日/登记日/逾期日）、入孵公示"
        "（公示开始日）与异议（收到日）、年报（到期：报送截止日在本期；报送：报送日；逾期未报送："
        "逾期日）、年检结论、违规整改、信用名录 (annual reports due = deadline within the "
        "period; filed = filed within it; overdue = first overdue day within it)",
    },
    {
        "key": "professional_services",
        "title": "提供专业服务情况 Professional services delivered",
        "columns": [k for k, _ in ops.SERVICE_COLUMNS],
        "counts": "基地为在孵机构记录的专业服务：服务期止日在本期内的记录之和；每条记录的服务期在"
        "同一半年内 (records whose service period ends within the period; a record never "
        "spans two half-years)",
    },
)


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _operating(base: BaseView, day: dt.date) -> bool:
    return base.established_on <= day and (base.closed_on is None or base.closed_on > day)


def figures(state: CityState, period: Period, unit: str | None) -> Figures:
    """One row of the half-year report: a unit's figures, or the city's when `unit` is None."""
    scope = _Scope(state, period, unit)
    return {
        **_base_figures(scope),
        **_agency_figures(scope),
        **_incubation_figures(scope),
        **_funding_figures(scope),
        **_training_figures(scope),
        **_inspection_figures(scope),
        **_violation_figures(scope),
        **_listing_figures(scope),
        **_follow_up_figures(scope),
        **_operation_figures(scope),
    }


@dataclass(frozen=True, slots=True)
class _Scope:
    """The state seen for one period and one unit (the whole city when `unit` is None)."""

    state: CityState
    period: Period
    unit: str | None

    def has_unit(self, unit: str) -> bool:
        return self.unit is None or unit == self.unit

    def has_base(self, base_id: str) -> bool:
        return self.has_unit(self.state.unit_of_base(base_id))

    def has_agency(self, uscc: str) -> bool:
        return self.has_unit(self.state.unit_of_agency(uscc))

    def chosen(
        self, records: Records[Any], day: str, owner: str, has: Callable[[str], bool]
    ) -> Iterator[bool]:
        """Whether each record's `day` is in the period and its `owner` in the scope (a whole
        city, or a unit's share by `views.by_unit`, needs no owner test), tested once per
        distinct value (issue 12: 300k inspections, a few thousand dates)."""
        chosen = records.where(day, self.period.contains)
        if self.unit is None:
            return chosen
        return map(operator.and_, chosen, records.where(owner, has))


def _base_figures(scope: _Scope) -> Figures:
    period = scope.period
    bases = [b for b in scope.state.bases.values() if scope.has_unit(b.reporting_unit)]
    operating = [b for b in bases if _operating(b, period.end)]
    return {
        "bases_operating": len(operating),
        "bases_city_level": sum(b.level == "city" for b in operating),
        "bases_county_level": sum(b.level == "county" for b in operating),
        "bases_township_level": sum(b.level == "township" for b in operating),
        "bases_meeting_standard": sum(b.meets_hardware_standard for b in operating),
        "bases_below_standard": sum(not b.meets_hardware_standard for b in operating),
        "bases_new": sum(period.contains(b.established_on) for b in bases),
        "bases_closed": sum(period.contains(b.closed_on) for b in bases),
    }


def _agency_figures(scope: _Scope) -> Figures:
    period = scope.period
    agencies = [a for a in scope.state.agencies.values() if scope.has_unit(a.reporting_unit)]
    live = [a for a in agencies if a.status in LIVE_STATUSES]
    return {
        "agencies_registered": len(live),
        "agencies_active": sum(a.status == "active" for a in live),
        "agencies_suspended": sum(a.status == "suspended" for a in live),
        "agencies_new": sum(period.contains(a.registered_on) for a in agencies),
        "agencies_deregistered_or_revoked": sum(
            a.status in ("deregistered", "revoked") and period.contains(a.status_since)
            for a in agencies
        ),
        "agencies_priority": sum(a.priority for a in live),
    }


def _incubation_figures(scope: _Scope) -> Figures:
    period, end = scope.period, scope.period.end
    incubations = [i for i in scope.state.incubations.values() if scope.has_base(i.base_id)]
    return {
        "agencies_incubating": len(
            {
                i.uscc
                for i in incubations
                if i.started_on <= end
                and (i.graduated_on is None or i.graduated_on > end)
                and (i.terminated_on is None or i.terminated_on > end)
            }
        ),
        "incubations_started": sum(period.contains(i.started_on) for i in incubations),
        "agencies_graduated": sum(period.contains(i.graduated_on) for i in incubations),
        "incubations_terminated": sum(period.contains(i.terminated_on) for i in incubations),
    }


def _funding_figures(scope: _Scope) -> Figures:
    records = scope.state.funding
    chosen = scope.chosen(records, "given_on", "base_id", scope.has_base)
    funding = list(compress(records.zipped("amount", "funding_type"), chosen))
    row: Figures = {"funding_total_yuan": _money(sum((a for a, _ in funding), Decimal(0)))}
    known_funding = {k for k, _ in FUNDING_TYPES}
    for key, _ in FUNDING_TYPES:
        total = sum(
            (a for a, kind in funding if (kind if kind in known_funding else "other") == key),
            Decimal(0),
        )
        row[f"funding_{key}_yuan"] = _money(total)
    return row


def _training_figures(scope: _Scope) -> Figures:
    records = scope.state.trainings
    chosen = scope.chosen(records, "held_on", "base_id", scope.has_base)
    trainings = list(compress(records.zipped("hours", "attendees"), chosen))
    return {
        "training_sessions": len(trainings),
        "training_hours": str(sum((hours for hours, _ in trainings), Decimal(0))),
        "training_attendees": sum(attendees for _, attendees in trainings),
    }


def _inspection_figures(scope: _Scope) -> Figures:
    records = scope.state.inspections
    chosen = scope.chosen(records, "concluded_on", "uscc", scope.has_agency)
    conclusions = Counter(compress(records.column("conclusion"), chosen))
    return {f"inspections_{key}": conclusions[key] for key, _ in CONCLUSIONS}


def _violation_figures(scope: _Scope) -> Figures:
    period, end = scope.period, scope.period.end
    violations = [
        v
        for v in scope.state.violations.values()
        if scope.has_agency(v.uscc) and period.contains(v.found_on)
    ]
    rectifications = [r for r in scope.state.rectifications.values() if scope.has_agency(r.uscc)]
    known_categories = {k for k, _ in CATEGORIES}
    row: Figures = {"violations": len(violations)}
    for key, _ in CATEGORIES:
        row[f"violations_{key}"] = sum(
            (v.category if v.category in known_categories else "other") == key for v in violations
        )
    row["rectifications_ordered"] = sum(period.contains(r.ordered_on) for r in rectifications)
    row["rectifications_confirmed"] = sum(period.contains(r.confirmed_on) for r in rectifications)
    row["rectifications_overdue"] = sum(period.contains(r.overdue_on) for r in rectifications)
    row["rectifications_open"] = sum(
        r.ordered_on <= end and (r.confirmed_on is None or r.confirmed_on > end)
        for r in rectifications
    )
    return row


def _listing_figures(scope: _Scope) -> Figures:
    end = scope.period.end
    listings = [x for x in scope.state.listings.values() if scope.has_agency(x.uscc)]
    still_open = [x for x in listings if x.removed_on is None or x.removed_on > end]
    return {
        "listed_abnormal": len({x.uscc for x in still_open if x.list == "abnormal"}),
        "listed_serious": len({x.uscc for x in still_open if x.list == "serious"}),
        "listings_new": sum(scope.period.contains(x.listed_on) for x in listings),
    }


def _follow_up_figures(scope: _Scope) -> Figures:
    follow_ups = [
        f
        for f in scope.state.follow_ups
        if scope.has_agency(f.uscc) and scope.period.contains(f.evaluated_on)
    ]
    return {
        "follow_ups": len(follow_ups),
        "follow_ups_unqualified": sum(f.conclusion == "unqualified" for f in follow_ups),
    }


def _operation_figures(scope: _Scope) -> Figures:
    """Offices and the base's operation (staff, funds, evaluations, services, term flags)."""
    end = scope.period.end
    operating = [
        b
        for b in scope.state.bases.values()
        if scope.has_unit(b.reporting_unit) and _operating(b, end)
    ]
    operating_ids = [b.base_id for b in operating]
    incubations = [i for i in scope.state.incubations.values() if scope.has_base(i.base_id)]
    row: Figures = {
        "offices_allottable": sum(b.offices for b in operating),
        "offices_occupied": sum(
            i.base_id in operating_ids
            and i.started_on <= end
            and (i.graduated_on is None or i.graduated_on > end)
            and (i.terminated_on is None or i.terminated_on > end)
            for i in incubations
        ),
    }
    state = scope.state
    records = [r for r in state.operations if scope.has_unit(ops.unit_of(state, r))]
    row.update(ops.operation_figures(state, scope.period, records, operating_ids))
    return row


def unit_ids() -> list[str]:
    return [u.id for u in reference.localities()]


def unit_name(unit: str) -> str:
    try:
        return reference.locality(unit).name
    except KeyError:
        return "未知统计单位" if unit == "unknown" else unit


DIMENSION_NAMES = {"target_group": "服务对象", "service_field": "服务领域"}


Coverage = dict[tuple[str, str, str], int]  # (unit, dimension, item) -> live agencies


def coverage(state: CityState, units: Iterable[str]) -> list[dict[str, int | str | bool]]:
    """Priority coverage (§2.1): live agencies by target group and by service field, per unit."""
    return coverage_rows(coverage_counts(state.agencies.values()), units)


def coverage_counts(agencies: Iterable[AgencyView]) -> Coverage:
    """Live agencies by (unit, dimension, item), each item once an agency: one pass."""
    counts: Coverage = {}
    for a in agencies:
        if a.status in LIVE_STATUSES:
            for dimension, ids in (
                ("target_group", a.target_groups),
                ("service_field", a.service_fields),
            ):
                for item_id in set(ids):
                    key = (a.reporting_unit, dimension, item_id)
                    counts[key] = counts.get(key, 0) + 1
    return counts


def coverage_rows(counts: Coverage, units: Iterable[str]) -> list[dict[str, int | str | bool]]:
    """The coverage table: every unit, dimension and reference item, with its count."""
    rows: list[dict[str, int | str | bool]] = []
    for unit in units:
        for dimension, items in (
            ("target_group", reference.target_groups()),
            ("service_field", reference.service_fields()),
        ):
            for item in items:
                rows.append(
                    {
                        "reporting_unit": unit,
                        "unit_name": unit_name(unit),
                        "dimension": dimension,
                        "dimension_name": DIMENSION_NAMES[dimension],
                        "item": item.id,
                        "item_name": item.name,
                        "priority": item.priority,
                        "agencies": counts.get((unit, dimension, item.id), 0),
                    }
                )
    return rows


def _groups(agency: AgencyView) -> tuple[str, ...]:
    return agency.target_groups


def _fields(agency: AgencyView) -> tuple[str, ...]:
    return agency.service_fields


@dataclass(frozen=True)
class TrendInputs:
    """What trends read of the city as of `until`: from a folded state (`trend_inputs`) or from
    the versions holding at the cut-off (readmodel_places.trend_inputs)."""

    registered: Mapping[dt.date, int]  # agencies by registration day
    # Deregistered or revoked agencies by the day they ended (their status day, not before
    # their registration).
    ended: Mapping[dt.date, int]
    bases: Sequence[BaseView]
    graduated: Mapping[int, int]  # graduations by year


def trend_inputs(state: CityState) -> TrendInputs:
    agencies = state.agencies.values()
    return TrendInputs(
        registered=Counter(a.registered_on for a in agencies),
        ended=Counter(
            max(a.registered_on, a.status_since)
            for a in agencies
            if a.status in ("deregistered", "revoked")
        ),
        bases=list(state.bases.values()),
        graduated=Counter(
            i.graduated_on.year for i in state.incubations.values() if i.graduated_on is not None
        ),
    )


def trends(state: CityState, until: dt.date) -> list[dict[str, int]]:
    """Year by year from a state folded as of `until` (`trend_rows`)."""
    return trend_rows(trend_inputs(state), until)


def trend_rows(inputs: TrendInputs, until: dt.date) -> list[dict[str, int]]:
    """Year by year: agencies registered and bases operating at each year end, and new ones.

    Sorted days, not a scan of every agency, base and stay per year: an agency counts at `end`
    when registered by then and not ended (deregistered, revoked) by then, i.e. registered by
    `end` minus those ended by `end`.
    """
    bases = inputs.bases
    years = [d.year for d in inputs.registered] + [b.established_on.year for b in bases]
    if not years:
        return []
    registered = _by_day(inputs.registered)
    ended = _by_day(inputs.ended)
    established = _by_day(Counter(b.established_on for b in bases))
    closed = _by_day(
        Counter(max(b.established_on, b.closed_on) for b in bases if b.closed_on is not None)
    )
    new_agencies: Counter[int] = Counter()
    for day, n in inputs.registered.items():
        new_agencies[day.year] += n
    new_bases = Counter(b.established_on.year for b in bases)
    rows = []
    for year in range(min(years), until.year + 1):
        end = min(dt.date(year, 12, 31), until)
        rows.append(
            {
                "year": year,
                "agencies_registered": registered.by(end) - ended.by(end),
                "agencies_new": new_agencies[year],
                "bases_operating": established.by(end) - closed.by(end),
                "bases_new": new_bases[year],
                "graduated": inputs.graduated.get(year, 0),
            }
        )
    return rows


@dataclass(frozen=True)
class _Cumulative:
    days: list[dt.date]  # sorted
    totals: list[int]  # of every day up to and including days[i]

    def by(self, end: dt.date) -> int:
        """How many fall on or before `end`."""
        i = bisect_right(self.days, end)
        return self.totals[i - 1] if i else 0


def _by_day(counts: Mapping[dt.date, int]) -> _Cumulative:
    days = sorted(counts)
    return _Cumulative(days, list(accumulate(counts[d] for d in days)))


def credit_listings(
    listings: Iterable[Listing], agencies: Mapping[str, AgencyView], *, include_removed: bool
) -> list[dict[str, str | None]]:
    """Agencies on each credit list with dates, and the escalation date the clock brings: the
    listings of a cut-off and the agencies' views there (a fold's `state.listings` and
    `state.agencies`, or the versions', readmodel_listings.listings_at)."""
    rows: list[dict[str, str | None]] = []
    for listing in sorted(listings, key=lambda x: (x.listed_on, x.listing_id)):
        if listing.removed_on is not None and not include_removed:
            continue
        agency = agencies.get(listing.uscc)
        unit = agency_unit(agencies, listing.uscc)
        # Domain rule: 2 full years on the abnormal list moves an agency to the serious list.
        start = listing.clock_from or listing.listed_on
        escalation = add_years(start, 2) if listing.list == "abnormal" else None
        rows.append(
            {
                "listing_id": listing.listing_id,
                "uscc": listing.uscc,
                "agency_name": agency.name if agency else None,
                "reporting_unit": unit,
                "unit_name": unit_name(unit),
                "list": listing.list,
                "ground": listing.ground,
                "listed_on": listing.listed_on.isoformat(),
                "removed_on": listing.removed_on.isoformat() if listing.removed_on else None,
                "removal_reason": listing.removal_reason,
                "escalation_due_on": escalation.isoformat()
                if escalation and listing.removed_on is None
                else None,
            }
        )
    return rows
