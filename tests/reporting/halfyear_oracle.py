"""The half-year figures as first defined, kept as the tests' oracle: one unit's row (or the
whole city's) by filtering every collection of the state for that unit, figure by figure.

This was `reports.figures` and `operations.operation_figures` until the render read each
collection once for every unit (`reports.half_year_figures`); the city report took 17 scans of
everything. Records are read as records (`iter`), not through their columns.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.reporting.domain import operations as ops
from services.reporting.domain.periods import Period
from services.reporting.domain.reports import CATEGORIES, CONCLUSIONS, FUNDING_TYPES, Figures
from services.reporting.domain.state import BaseView, CityState, agency_unit

LIVE_STATUSES = ("active", "suspended")


def half_year_rows(state: CityState, period: Period, units: list[str]) -> dict[str, Figures]:
    """Each unit's row, then the city's under "city"."""
    rows = {unit: figures(state, period, unit) for unit in units}
    rows["city"] = figures(state, period, None)
    return rows


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


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _operating(base: BaseView, day: dt.date) -> bool:
    return base.established_on <= day and (base.closed_on is None or base.closed_on > day)


@dataclass(frozen=True, slots=True)
class _Scope:
    state: CityState
    period: Period
    unit: str | None

    def has_unit(self, unit: str) -> bool:
        return self.unit is None or unit == self.unit

    def has_base(self, base_id: str) -> bool:
        return self.has_unit(_unit_of_base(self.state, base_id))

    def has_agency(self, uscc: str) -> bool:
        return self.has_unit(agency_unit(self.state.agencies, uscc))

    def chosen(self, records: Any, day: str, owner: str, has: Callable[[str], bool]) -> list[Any]:
        return [
            r for r in records if self.period.contains(getattr(r, day)) and has(getattr(r, owner))
        ]


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
    funding = scope.chosen(scope.state.funding, "given_on", "base_id", scope.has_base)
    row: Figures = {"funding_total_yuan": _money(sum((f.amount for f in funding), Decimal(0)))}
    known_funding = {k for k, _ in FUNDING_TYPES}
    for key, _ in FUNDING_TYPES:
        total = sum(
            (
                f.amount
                for f in funding
                if (f.funding_type if f.funding_type in known_funding else "other") == key
            ),
            Decimal(0),
        )
        row[f"funding_{key}_yuan"] = _money(total)
    return row


def _training_figures(scope: _Scope) -> Figures:
    trainings = scope.chosen(scope.state.trainings, "held_on", "base_id", scope.has_base)
    return {
        "training_sessions": len(trainings),
        "training_hours": str(sum((t.hours for t in trainings), Decimal(0))),
        "training_attendees": sum(t.attendees for t in trainings),
    }


def _inspection_figures(scope: _Scope) -> Figures:
    inspections = scope.chosen(scope.state.inspections, "concluded_on", "uscc", scope.has_agency)
    conclusions = Counter(i.conclusion for i in inspections)
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
    records = [r for r in state.operations if scope.has_unit(_unit_of(state, r))]
    row.update(operation_figures(scope.period, records, operating_ids))
    return row


def _unit_of_base(state: CityState, base_id: str) -> str:
    base = state.bases.get(base_id)
    return base.reporting_unit if base is not None else "unknown"


def _unit_of(state: CityState, record: ops.Record) -> str:
    if record.base_id is not None:
        return _unit_of_base(state, record.base_id)
    return agency_unit(state.agencies, record.uscc or "")


def _in(records: list[ops.Record], kind: str, period: Period) -> list[ops.Record]:
    return [r for r in records if r.kind == kind and period.contains(r.day)]


def operation_figures(
    period: Period, records: list[ops.Record], operating: list[str]
) -> dict[str, int | str]:
    """Figures of `records` (already the unit's) for the period; `operating`: bases at its end."""
    end = period.end
    latest: dict[str, ops.Record] = {}  # the latest staff count on or before the end, per base
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
