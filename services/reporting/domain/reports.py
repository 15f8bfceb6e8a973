"""Mid-year and year-end figures (guidance §6.3), priority coverage, trends and credit lists."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate, repeat
from typing import Any, TypedDict

from socialwork_contracts import reference
from socialwork_contracts.periods import add_years

from services.reporting.domain import operations as ops
from services.reporting.domain.periods import Period
from services.reporting.domain.records import VALUES, Records, by_ref
from services.reporting.domain.state import (
    DATED,
    AgencyView,
    BaseView,
    CityState,
    FollowUp,
    Funding,
    IncubationView,
    Inspection,
    Listing,
    Rectification,
    Training,
    Violation,
    agency_unit,
)
from services.reporting.domain.tally import UNKNOWN, Memo, Sums, Tally

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


# How each figure's sum is shown (the others are whole numbers): money to the fen, hours as
# summed (exact decimal text); distinct counts are the size of a set.
MONEY = frozenset(
    {"funding_total_yuan", *(f"funding_{k}_yuan" for k, _ in FUNDING_TYPES)}
    | {"base_funding_budget_yuan", "base_funding_other_yuan"}
)
HOURS = frozenset({"training_hours", "services_hours"})
CITY = "city"  # the whole city's row among a half-year's figures by unit
DISTINCT = frozenset(
    {"agencies_incubating", "listed_abnormal", "listed_serious"}
    | {"services_agencies", "annual_reports_due"}
)


def half_year_figures(
    state: CityState, period: Period, scope: str | None = None
) -> dict[str, Figures]:
    """The half-year rows (guidance §6.3) of every unit and of the city ("city"), or of `scope`
    alone (a unit of the reference), from one pass over each collection of the state.

    Bases, stays, funding and trainings count in the base's unit; agencies, supervision records
    in the agency's (tally.py: "unknown" ones in the city's row alone). Funding, trainings and
    inspections are read as columns, their period's rows alone (`Records.span`).
    """
    tally, inside = Tally(scope), Memo(period.contains)
    agency_units = _agencies(state.agencies.values(), inside, tally)
    base_units, operating = _bases(state.bases.values(), period.end, inside, tally)
    _stays(state.incubations.values(), base_units, operating, period.end, inside, tally)
    of_base = by_ref(base_units)
    _funding(state.funding, of_base, period, tally)
    _trainings(state.trainings, of_base, period, tally)
    _agency_records(state, agency_units, period, inside, tally)
    owners = ops.Owners(base_units, agency_units, operating)
    ops.tally_operations(state.operations, owners, period, tally)
    rows = {unit: _figures(tally.units.get(unit) or Sums()) for unit in _units(scope)}
    if scope is None:
        rows[CITY] = _figures(tally.city())
    return rows


def _agency_records(
    state: CityState, units: dict[str, str], period: Period, inside: Memo[Any, bool], tally: Tally
) -> None:
    """The supervision records, each in its agency's unit (`units`: credit code -> unit)."""
    _inspections(state.inspections, by_ref(units), period, tally)
    _violations(state.violations.values(), units, inside, tally)
    _rectifications(state.rectifications.values(), units, period.end, inside, tally)
    _listings(state.listings.values(), units, period.end, inside, tally)
    _follow_ups(state.follow_ups, units, inside, tally)


# What an agency's own records add to its unit's half-year figures: figure -> count (a distinct
# count: how many of its own items, which no other agency's records share: its credit code, its
# reports' "uscc:year").
AgencyRecords = dict[str, int]


def agency_records(
    state: CityState, period: Period, usccs: Iterable[str]
) -> dict[str, AgencyRecords]:
    """What the records each of these agencies owns (supervision records, annual reports) add to
    the half-year figures of whichever unit the agency is in; an agency adding nothing is left
    out. The same pass as `half_year_figures`, each agency taken for a unit of its own."""
    units = {uscc: uscc for uscc in usccs}
    tally = Tally(None)
    _agency_records(state, units, period, Memo(period.contains), tally)
    # Records of a base count in the base's unit whatever their agency: none here (UNKNOWN).
    ops.tally_operations(state.operations, ops.Owners({}, units, frozenset()), period, tally)
    found: dict[str, AgencyRecords] = {}
    for uscc, sums in tally.units.items():
        if uscc in units:
            added = {k: int(n) for k, n in sums.counts.items() if n}
            added.update((k, len(items)) for k, items in sums.distinct.items() if items)
            if added:
                found[uscc] = added
    return found


def late_shift(
    figures: Mapping[str, Figures],
    period: Period,
    records: Mapping[str, AgencyRecords],
    now: Mapping[str, AgencyView],
    then: Mapping[str, AgencyView],
) -> dict[str, Figures]:
    """The half-year figures by unit (and the city's) of a state whose agencies' views are
    `then` instead of `now` (the agencies `now` and `then` name: `now` their views in the state
    the figures are of, `then` where they have one), every other view and record the same:
    each agency's own counts taken out of its unit and put into its unit in `then`, its
    records (`records`, from `agency_records`) moved along when its unit changes. A by-recording
    cut-off whose late facts are all agency facts (design: maintained-figures.md §7 item 5a)."""
    late = now.keys() | then.keys()
    inside = Memo(period.contains)
    change: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for sign, views in ((-1, now), (1, then)):
        tally = Tally(None)
        _agencies(views.values(), inside, tally)
        for unit, sums in tally.units.items():
            change[unit].update({k: sign * int(n) for k, n in sums.counts.items()})
    for uscc in late:
        was, is_ = agency_unit(now, uscc), agency_unit(then, uscc)
        if was != is_ and (added := records.get(uscc)):
            change[was].subtract(added)
            change[is_].update(added)
    rows = {u: dict(figures.get(u) or _figures(Sums())) for u in unit_ids()}
    rows[CITY] = dict(figures[CITY])
    for unit, counts in change.items():
        for row in (rows.get(unit), rows[CITY]):  # the city: every unit's, "unknown" too
            for key, n in counts.items():
                if row is not None and n:
                    value = row[key]
                    assert isinstance(value, int), key  # an agency adds counts alone
                    row[key] = value + n
    return rows


def _units(scope: str | None) -> list[str]:
    return unit_ids() if scope is None else [scope]


def _figures(sums: Sums) -> Figures:
    """A row of the report from a unit's sums, in the columns' order."""
    counts, distinct = sums.counts, sums.distinct
    row: Figures = {}
    for key, _ in FIGURE_COLUMNS:
        if key in MONEY:
            row[key] = _money(Decimal(counts[key]))
        elif key in HOURS:
            row[key] = str(counts[key])
        elif key in DISTINCT:
            row[key] = len(distinct[key])
        else:
            row[key] = int(counts[key])
    row["groups_preparing"] = len(distinct["group_taken_on"] - distinct["group_registered"])
    return row


def _agencies(
    agencies: Iterable[AgencyView], inside: Memo[Any, bool], tally: Tally
) -> dict[str, str]:
    """Agencies by their own unit; returns the unit of each agency of the scope (supervision
    records count there; another unit's agency is then "unknown", which a unit's report, of a
    unit of the reference, passes over)."""
    units: dict[str, str] = {}
    scope = tally.scope  # tested here, not per key: a unit's report passes over 15 of 16

    def keys() -> Iterator[tuple[str, str, bool, bool, bool]]:  # counted in C by Counter
        for a in agencies:
            unit = a.reporting_unit
            if scope is None or unit == scope:
                units[a.uscc] = unit
                yield unit, a.status, a.priority, inside[a.registered_on], inside[a.status_since]

    kinds = Counter(keys())

    def add(sums: Sums, key: tuple[str, str, bool, bool, bool], n: int) -> None:
        _, status, priority, new, changed = key
        counts = sums.counts
        counts["agencies_new"] += n * new
        if status in LIVE_STATUSES:
            counts["agencies_registered"] += n
            counts[f"agencies_{status}"] += n
            counts["agencies_priority"] += n * priority
        elif status in ("deregistered", "revoked"):
            counts["agencies_deregistered_or_revoked"] += n * changed

    tally.add(kinds, add)
    return units


def _bases(
    bases: Iterable[BaseView], end: dt.date, inside: Memo[Any, bool], tally: Tally
) -> tuple[dict[str, str], set[str]]:
    """Bases by their own unit; returns each one's unit and those operating at the end."""
    units: dict[str, str] = {}
    operating: set[str] = set()
    for b in bases:
        units[b.base_id] = b.reporting_unit
        sums = tally.of(b.reporting_unit)
        if sums is None:
            continue
        counts = sums.counts
        counts["bases_new"] += inside[b.established_on]
        counts["bases_closed"] += inside[b.closed_on]
        if _operating(b, end):
            operating.add(b.base_id)
            counts["bases_operating"] += 1
            counts[f"bases_{b.level}_level"] += 1
            counts[
                "bases_meeting_standard" if b.meets_hardware_standard else "bases_below_standard"
            ] += 1
            counts["offices_allottable"] += b.offices
    return units, operating


def _stays(
    stays: Iterable[IncubationView],
    base_units: dict[str, str],
    operating: set[str],
    end: dt.date,
    inside: Memo[Any, bool],
    tally: Tally,
) -> None:
    """Stays by their base's unit: those under way at the end (an agency once however many
    bases it stays at) and those started, graduated or ended within the period."""
    incubating: set[tuple[str, str]] = set()
    scope = tally.scope

    def keys() -> Iterator[tuple[str, bool, bool, bool, bool]]:  # counted in C by Counter
        for i in stays:
            unit = base_units.get(i.base_id, UNKNOWN)
            if scope is not None and unit != scope:
                continue
            staying = (
                i.started_on <= end
                and (i.graduated_on is None or i.graduated_on > end)
                and (i.terminated_on is None or i.terminated_on > end)
            )
            if staying:
                incubating.add((unit, i.uscc))
            occupied = staying and i.base_id in operating
            yield (
                unit,
                occupied,
                inside[i.started_on],
                inside[i.graduated_on],
                inside[i.terminated_on],
            )

    kinds = Counter(keys())

    def add(sums: Sums, key: tuple[str, bool, bool, bool, bool], n: int) -> None:
        _, occupied, started, graduated, ended = key
        counts = sums.counts
        counts["offices_occupied"] += n * occupied
        counts["incubations_started"] += n * started
        counts["agencies_graduated"] += n * graduated
        counts["incubations_terminated"] += n * ended

    tally.add(kinds, add)
    for unit, uscc in incubating:
        if (sums := tally.of(unit)) is not None:
            sums.distinct["agencies_incubating"].add(uscc)


def _units_of(owners: Iterable[int], units: dict[int, str]) -> Iterator[str]:
    """The unit of each record's owner (a base, an agency), given as references (in C)."""
    return map(units.get, owners, repeat(UNKNOWN))


FUNDING_KEYS = {k: f"funding_{k}_yuan" for k, _ in FUNDING_TYPES}


def _funding(
    records: Records[Funding], of_base: dict[int, str], period: Period, tally: Tally
) -> None:
    rows = records.span(DATED["funding"], period.start, period.end)
    units = _units_of(records.refs("base_id", rows), of_base)
    kinds = Counter(
        zip(units, records.refs("funding_type", rows), records.refs("amount", rows), strict=True)
    )

    def add(sums: Sums, key: tuple[str, int, int], n: int) -> None:
        _, funding_type, amount = key
        total = VALUES[amount] * n
        sums.counts["funding_total_yuan"] += total
        sums.counts[FUNDING_KEYS.get(VALUES[funding_type], "funding_other_yuan")] += total

    tally.add(kinds, add)


def _trainings(
    records: Records[Training], of_base: dict[int, str], period: Period, tally: Tally
) -> None:
    rows = records.span(DATED["trainings"], period.start, period.end)
    units = _units_of(records.refs("base_id", rows), of_base)
    kinds = Counter(
        zip(units, records.refs("hours", rows), records.refs("attendees", rows), strict=True)
    )

    def add(sums: Sums, key: tuple[str, int, int], n: int) -> None:
        _, hours, attendees = key
        sums.counts["training_sessions"] += n
        sums.counts["training_hours"] += VALUES[hours] * n
        sums.counts["training_attendees"] += VALUES[attendees] * n

    tally.add(kinds, add)


INSPECTION_KEYS = {k: f"inspections_{k}" for k, _ in CONCLUSIONS}


def _inspections(
    records: Records[Inspection], of_agency: dict[int, str], period: Period, tally: Tally
) -> None:
    rows = records.span(DATED["inspections"], period.start, period.end)
    units = _units_of(records.refs("uscc", rows), of_agency)
    kinds = Counter(zip(units, records.refs("conclusion", rows), strict=True))

    def add(sums: Sums, key: tuple[str, int], n: int) -> None:
        if (figure := INSPECTION_KEYS.get(VALUES[key[1]])) is not None:
            sums.counts[figure] += n

    tally.add(kinds, add)


CATEGORY_KEYS = {k: f"violations_{k}" for k, _ in CATEGORIES}


def _violations(
    violations: Iterable[Violation], units: dict[str, str], inside: Memo[Any, bool], tally: Tally
) -> None:
    kinds = Counter(
        (units.get(v.uscc, UNKNOWN), v.category) for v in violations if inside[v.found_on]
    )

    def add(sums: Sums, key: tuple[str, str], n: int) -> None:
        sums.counts["violations"] += n
        sums.counts[CATEGORY_KEYS.get(key[1], "violations_other")] += n

    tally.add(kinds, add)


def _rectifications(
    rectifications: Iterable[Rectification],
    units: dict[str, str],
    end: dt.date,
    inside: Memo[Any, bool],
    tally: Tally,
) -> None:
    kinds = Counter(
        (
            units.get(r.uscc, UNKNOWN),
            inside[r.ordered_on],
            inside[r.confirmed_on],
            inside[r.overdue_on],
            r.ordered_on <= end and (r.confirmed_on is None or r.confirmed_on > end),
        )
        for r in rectifications
    )

    def add(sums: Sums, key: tuple[str, bool, bool, bool, bool], n: int) -> None:
        _, ordered, confirmed, overdue, still_open = key
        counts = sums.counts
        counts["rectifications_ordered"] += n * ordered
        counts["rectifications_confirmed"] += n * confirmed
        counts["rectifications_overdue"] += n * overdue
        counts["rectifications_open"] += n * still_open

    tally.add(kinds, add)


def _listings(
    listings: Iterable[Listing],
    units: dict[str, str],
    end: dt.date,
    inside: Memo[Any, bool],
    tally: Tally,
) -> None:
    """Listings by the agency's unit: those listed within the period, and the agencies on each
    list at its end (an agency once)."""
    for x in listings:
        sums = tally.of(units.get(x.uscc, UNKNOWN))
        if sums is None:
            continue
        sums.counts["listings_new"] += inside[x.listed_on]
        if x.removed_on is None or x.removed_on > end:
            sums.distinct[f"listed_{x.list}"].add(x.uscc)


def _follow_ups(
    follow_ups: Iterable[FollowUp], units: dict[str, str], inside: Memo[Any, bool], tally: Tally
) -> None:
    kinds = Counter(
        (units.get(f.uscc, UNKNOWN), f.conclusion == "unqualified")
        for f in follow_ups
        if inside[f.evaluated_on]
    )

    def add(sums: Sums, key: tuple[str, bool], n: int) -> None:
        sums.counts["follow_ups"] += n
        sums.counts["follow_ups_unqualified"] += n * key[1]

    tally.add(kinds, add)


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
