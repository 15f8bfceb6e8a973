"""Facts of issue 11 the half-year reports count: base operation (staff, funding by source,
evaluations, flagged stays), professional services delivered, registration assistance, public
notices and the annual-report cycle (guidance §6.3: 运营情况、机构发展情况、提供专业服务情况).

Each fact becomes one `Record` in `CityState.operations`, with its day and the base or agency that
places it in a reporting unit (a base's unit when the fact has a base, else the agency's).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from socialwork_contracts import incubation as inc
from socialwork_contracts import supervision as sup
from socialwork_contracts.base import DomainEvent

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


def unit_of(state: CityState, record: Record) -> str:
    if record.base_id is not None:
        return state.unit_of_base(record.base_id)
    return state.unit_of_agency(record.uscc or "")


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


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _in(records: list[Record], kind: str, period: Period) -> list[Record]:
    return [r for r in records if r.kind == kind and period.contains(r.day)]


def operation_figures(
    state: CityState, period: Period, records: list[Record], operating: list[str]
) -> dict[str, int | str]:
    """Figures of `records` (already the unit's) for the period; `operating`: bases at its end."""
    end = period.end
    latest: dict[str, Record] = {}  # the latest staff count on or before the end, per base
    counts = [r for r in records if r.kind == "base_staff" and r.day <= end]
    for r in sorted(counts, key=lambda r: r.day):  # stable: a later record of a day wins
        if r.base_id in operating:
            latest[r.key] = r
    funding = _in(records, "base_funding", period)
    evaluations = _in(records, "base_evaluation", period)
    services = _in(records, "services", period)
    filed = _in(records, "report_filed", period)
    overdue = _in(records, "report_overdue", period)
    due = {
        r.key
        for r in records
        if r.kind in ("report_filed", "report_overdue")
        and period.contains(dt.date.fromordinal(int(r.values[0])))
    }
    taken = {r.key for r in records if r.kind == "group_taken_on" and r.day <= end}
    settled = {r.key for r in records if r.kind == "group_registered" and r.day <= end}
    return {
        "base_staff_full_time": int(sum(r.values[0] for r in latest.values())),
        "base_staff_qualified": int(sum(r.values[1] for r in latest.values())),
        "base_funding_budget_yuan": _money(
            sum((r.values[0] for r in funding if r.tag == "budget"), Decimal(0))
        ),
        "base_funding_other_yuan": _money(
            sum((r.values[0] for r in funding if r.tag != "budget"), Decimal(0))
        ),
        "base_evaluations": len(evaluations),
        "base_evaluations_unqualified": sum(r.tag == "unqualified" for r in evaluations),
        "stays_past_term": len(_in(records, "term_overrun", period)),
        "stays_inactive": len(_in(records, "inactivity", period)),
        "services_agencies": len({r.uscc for r in services}),
        "services_projects": int(sum(r.values[0] for r in services)),
        "services_hours": str(sum((r.values[1] for r in services), Decimal(0))),
        "services_beneficiaries": int(sum(r.values[2] for r in services)),
        "groups_taken_on": len(_in(records, "group_taken_on", period)),
        "groups_registered": len(_in(records, "group_registered", period)),
        "groups_overdue": len(_in(records, "group_overdue", period)),
        "groups_preparing": len(taken - settled),
        "public_notices": len(_in(records, "public_notice", period)),
        "objections": len(_in(records, "objection", period)),
        "annual_reports_due": len(due),
        "annual_reports_filed": len(filed),
        "annual_reports_filed_late": sum(r.tag == "late" for r in filed),
        "annual_reports_overdue": len(overdue),
    }
