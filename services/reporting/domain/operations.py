"""Facts of issue 11 the half-year reports count: base operation (staff, funding by source,
evaluations, flagged stays), professional services delivered, registration assistance, public
notices and the annual-report cycle (guidance §6.3: 运营情况、机构发展情况、提供专业服务情况).

Each fact becomes one `Record` in `CityState.operations`, with its day and the base or agency that
places it in a reporting unit (a base's unit when the fact has a base, else the agency's).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from socialwork_contracts import incubation as inc
from socialwork_contracts import supervision as sup
from socialwork_contracts.base import DomainEvent

from services.reporting.domain.tally import UNKNOWN, Sums, Tally

if TYPE_CHECKING:
    from services.reporting.domain.periods import Period
    from services.reporting.domain.state import CityState


@dataclass(frozen=True, slots=True)
class Record:
    kind: str  # one of KINDS
    day: dt.date  # the fact's own date (occurrence)
    base_id: str | None
    uscc: str | None
    key: str  # what makes it distinct: a base, a (uscc, year), a record id
    values: tuple[Decimal, ...] = ()  # the kind's figures, in the order KINDS documents
    tag: str = ""  # a source, a conclusion, "late"


KINDS = {
    "base_staff": "(full-time, qualified) counted on `day`; key = base",
    "base_funding": "(amount,), tag = budget | other",
    "base_evaluation": "tag = conclusion",
    "services": "(projects, hours, beneficiaries) for a period ending on `day`",
    "term_overrun": "a stay past its term (期满未续驻)",
    "inactivity": "a stay without activity (长期未开展活动)",
    "group_taken_on": "注册协助: a group in preparation taken on; key = provisional id",
    "group_registered": "the group registered",
    "group_overdue": "the group not registered in time",
    "public_notice": "an admission put to public notice (公示)",
    "objection": "an objection received during a notice",
    "report_filed": "an annual report filed; key = uscc:year; tag = late | on_time; "
    "values = (deadline ordinal,)",
    "report_overdue": "an annual report not filed by its deadline; key = uscc:year",
}

Handler = Callable[["CityState", Any, dt.date], None]


def _record(state: CityState, record: Record) -> None:
    state.operations.append(record)


def _ordinal(day: dt.date) -> Decimal:
    return Decimal(day.toordinal())


def _staff(state: CityState, e: inc.BaseStaffRecorded, day: dt.date) -> None:
    values = (Decimal(e.full_time), Decimal(e.qualified))
    _record(state, Record("base_staff", e.counted_on, e.base_id, None, e.base_id, values))


def _base_funding(state: CityState, e: inc.BaseFundingRecorded, day: dt.date) -> None:
    record = Record(
        "base_funding", e.received_on, e.base_id, None, e.funding_id, (Decimal(e.amount_yuan),),
        e.source,
    )  # fmt: skip
    _record(state, record)


def _evaluation(state: CityState, e: inc.BaseEvaluated, day: dt.date) -> None:
    record = Record("base_evaluation", e.evaluated_on, e.base_id, None, e.evaluation_id)
    _record(state, replace(record, tag=e.conclusion))


def _services(state: CityState, e: inc.ProfessionalServicesRecorded, day: dt.date) -> None:
    values = (Decimal(e.projects), Decimal(e.service_hours), Decimal(e.beneficiaries))
    _record(state, Record("services", e.period_end, e.base_id, e.uscc, e.record_id, values))


def _overrun(state: CityState, e: inc.IncubationTermOverrun, day: dt.date) -> None:
    _record(state, Record("term_overrun", e.overrun_on, e.base_id, e.uscc, e.incubation_id))


def _inactive(state: CityState, e: inc.IncubationInactivityFlagged, day: dt.date) -> None:
    _record(state, Record("inactivity", e.flagged_on, e.base_id, e.uscc, e.incubation_id))


def _group(state: CityState, e: inc.GroupInPreparationRecorded, day: dt.date) -> None:
    _record(state, Record("group_taken_on", e.recorded_on, e.base_id, None, e.provisional_id))


def _group_registered(state: CityState, e: inc.GroupRegistered, day: dt.date) -> None:
    _record(state, Record("group_registered", e.registered_on, e.base_id, e.uscc, e.provisional_id))


def _group_overdue(state: CityState, e: inc.GroupRegistrationOverdue, day: dt.date) -> None:
    _record(state, Record("group_overdue", e.overdue_on, e.base_id, None, e.provisional_id))


def _notice(state: CityState, e: inc.PublicNoticeOpened, day: dt.date) -> None:
    _record(state, Record("public_notice", e.starts_on, e.base_id, e.uscc, e.incubation_id))


def _objection(state: CityState, e: inc.AdmissionObjectionRecorded, day: dt.date) -> None:
    _record(state, Record("objection", e.received_on, e.base_id, e.uscc, e.objection_id))


def _filed(state: CityState, e: sup.AnnualReportFiled, day: dt.date) -> None:
    key = f"{e.uscc}:{e.year}"
    tag = "late" if e.late else "on_time"
    record = Record("report_filed", e.filed_on, None, e.uscc, key, (_ordinal(e.deadline),), tag)
    _record(state, record)


def _report_overdue(state: CityState, e: sup.AnnualReportOverdue, day: dt.date) -> None:
    key = f"{e.uscc}:{e.year}"
    record = Record("report_overdue", e.overdue_on, None, e.uscc, key, (_ordinal(e.deadline),))
    _record(state, record)


HANDLERS: dict[type[DomainEvent], Handler] = {
    inc.BaseStaffRecorded: _staff,
    inc.BaseFundingRecorded: _base_funding,
    inc.BaseEvaluated: _evaluation,
    inc.ProfessionalServicesRecorded: _services,
    inc.IncubationTermOverrun: _overrun,
    inc.IncubationInactivityFlagged: _inactive,
    inc.GroupInPreparationRecorded: _group,
    inc.GroupRegistered: _group_registered,
    inc.GroupRegistrationOverdue: _group_overdue,
    inc.PublicNoticeOpened: _notice,
    inc.AdmissionObjectionRecorded: _objection,
    sup.AnnualReportFiled: _filed,
    sup.AnnualReportOverdue: _report_overdue,
}


def relink(state: CityState, provisional_id: str, uscc: str) -> None:
    """注册协助: records made under a group's provisional id are the agency's from the link."""
    if any(r.uscc == provisional_id for r in state.operations):
        state.operations[:] = [
            replace(r, uscc=uscc) if r.uscc == provisional_id else r for r in state.operations
        ]


# Column key -> Chinese header; the sections of the half-year report they belong to (below).
OPERATION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("offices_allottable", "期末可分配办公室"),
    ("offices_occupied", "期末在用办公室"),
    ("base_staff_full_time", "期末基地专职人员"),
    ("base_staff_qualified", "其中持证或社工专业"),
    ("base_funding_budget_yuan", "本期基地经费：财政预算（元）"),
    ("base_funding_other_yuan", "本期基地经费：其他来源（元）"),
    ("base_evaluations", "本期基地运行评估"),
    ("base_evaluations_unqualified", "其中评估不合格"),
    ("stays_past_term", "本期期满未续驻"),
    ("stays_inactive", "本期长期未开展活动"),
)
SERVICE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("services_agencies", "提供专业服务机构数"),
    ("services_projects", "专业服务项目数"),
    ("services_hours", "专业服务时长（小时）"),
    ("services_beneficiaries", "服务人次"),
)
DEVELOPMENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("groups_taken_on", "本期注册协助受理筹备组"),
    ("groups_registered", "本期协助登记成立"),
    ("groups_overdue", "本期逾期未登记筹备组"),
    ("groups_preparing", "期末筹备中"),
    ("public_notices", "本期入孵公示"),
    ("objections", "本期公示异议"),
    ("annual_reports_due", "本期到期年报"),
    ("annual_reports_filed", "本期报送年报"),
    ("annual_reports_filed_late", "其中逾期报送"),
    ("annual_reports_overdue", "本期逾期未报送"),
)


@dataclass(frozen=True)
class Owners:
    """Where a record counts: its base's unit when it has a base, else its agency's."""

    bases: Mapping[str, str]  # base id -> unit
    agencies: Mapping[str, str]  # credit code -> unit
    operating: AbstractSet[str]  # the bases operating at the period's end (of the scope)

    def unit(self, record: Record) -> str:
        if record.base_id is not None:
            return self.bases.get(record.base_id, UNKNOWN)
        return self.agencies.get(record.uscc or "", UNKNOWN)


# Kinds counted once a record when their day is within the period, and the figure.
COUNTED = {
    "base_evaluation": "base_evaluations",
    "term_overrun": "stays_past_term",
    "inactivity": "stays_inactive",
    "group_taken_on": "groups_taken_on",
    "group_registered": "groups_registered",
    "group_overdue": "groups_overdue",
    "public_notice": "public_notices",
    "objection": "objections",
    "report_filed": "annual_reports_filed",
    "report_overdue": "annual_reports_overdue",
}


def tally_operations(records: list[Record], owners: Owners, period: Period, tally: Tally) -> None:
    """Each record into its unit's sums (one pass); staff: each operating base's latest count
    on or before the period's end (of one day, the later record)."""
    latest: dict[str, Record] = {}
    for r in records:
        sums = tally.of(owners.unit(r))
        if sums is None:
            continue
        if r.kind == "base_staff":
            if _latest(r, latest.get(r.key), owners, period.end):
                latest[r.key] = r
        elif period.contains(r.day):
            _within(sums, r)
        _by_end(sums, r, period)
    for r in latest.values():
        if (sums := tally.of(owners.unit(r))) is not None:
            sums.counts["base_staff_full_time"] += r.values[0]
            sums.counts["base_staff_qualified"] += r.values[1]


def _latest(r: Record, last: Record | None, owners: Owners, end: dt.date) -> bool:
    """Whether a staff count is its base's latest so far (a base operating at the end)."""
    return r.day <= end and r.base_id in owners.operating and (last is None or r.day >= last.day)


def _within(sums: Sums, r: Record) -> None:
    """A record whose day is within the period."""
    counts = sums.counts
    if (figure := COUNTED.get(r.kind)) is not None:
        counts[figure] += 1
    match r.kind:
        case "base_funding":
            counts[f"base_funding_{'budget' if r.tag == 'budget' else 'other'}_yuan"] += r.values[0]
        case "base_evaluation":
            counts["base_evaluations_unqualified"] += r.tag == "unqualified"
        case "services":
            sums.distinct["services_agencies"].add(r.uscc)
            counts["services_projects"] += r.values[0]
            counts["services_hours"] += r.values[1]
            counts["services_beneficiaries"] += r.values[2]
        case "report_filed":
            counts["annual_reports_filed_late"] += r.tag == "late"


def _by_end(sums: Sums, r: Record, period: Period) -> None:
    """Groups taken on and registered by the period's end (those preparing: the difference,
    over the whole city for its row), annual reports due within it (one per agency and year)."""
    if r.kind in ("group_taken_on", "group_registered") and r.day <= period.end:
        sums.distinct[r.kind].add(r.key)
    elif r.kind in ("report_filed", "report_overdue") and period.contains(_deadline(r)):
        sums.distinct["annual_reports_due"].add(r.key)


def _deadline(r: Record) -> dt.date:
    return dt.date.fromordinal(int(r.values[0]))
