"""The records a credit file (诚信档案) holds, each built from the event that recorded it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from socialwork_contracts.supervision import (
    AgencyListed,
    AnnualInspectionConcluded,
    CreditList,
    InspectionConclusion,
    PenaltyImposed,
    PenaltyKind,
    PerformanceConclusion,
    RectificationOrdered,
    Severity,
    ViolationRecorded,
)

RectificationStatus = Literal["open", "confirmed", "overdue"]


# domain.md "Abnormal list": grounds that end only when the matter is put right; the others
# (a warning or small fine) end by themselves after 6 months.
RECTIFIABLE_GROUNDS = frozenset(
    {"rectification_overdue", "annual_report_not_filed", "unreachable", "no_party_organisation"}
)


@dataclass(frozen=True, slots=True)
class Violation:
    violation_id: str
    category: str
    severity: Severity
    facts: str
    evidence_ref: str
    base_id: str | None
    found_on: dt.date


@dataclass(frozen=True, slots=True)
class Rectification:
    rectification_id: str
    violation_id: str
    requirements: str
    deadline: dt.date  # inclusive
    ordered_on: dt.date
    document_number: str | None
    status: RectificationStatus = "open"
    overdue_on: dt.date | None = None
    confirmed_on: dt.date | None = None
    verification: str | None = None

    @property
    def unresolved(self) -> bool:
        return self.status != "confirmed"


@dataclass(frozen=True, slots=True)
class Penalty:
    penalty_id: str
    kind: PenaltyKind
    amount_yuan: Decimal | None
    suspended_until: dt.date | None
    violation_id: str | None
    document_number: str
    legal_basis: str
    deciding_department: str
    decided_on: dt.date


@dataclass(frozen=True, slots=True)
class Cause:
    """One ground that keeps a listing open (the first, or one that restarted its clock)."""

    ground: str
    cause_ref: str | None
    since: dt.date
    needs_rectification: bool
    rectified: bool = False


@dataclass(frozen=True, slots=True)
class Listing:
    """One interval on one list: listed at, ground, basis; removed at, reason."""

    listing_id: str
    list: CreditList
    ground: str
    detail: str | None
    cause_ref: str | None
    legal_basis: str
    listed_on: dt.date
    clock_from: dt.date  # listed_on, or the day a new ground restarted the clock
    causes: tuple[Cause, ...]
    removed_on: dt.date | None = None
    removal_reason: str | None = None
    removal_detail: str | None = None

    @property
    def is_open(self) -> bool:
        return self.removed_on is None

    @property
    def pending_rectification(self) -> bool:
        return any(c.needs_rectification and not c.rectified for c in self.causes)

    @property
    def auto_exit_grounds(self) -> bool:
        return any(not c.needs_rectification for c in self.causes)


@dataclass(frozen=True, slots=True)
class Inspection:
    inspection_id: str
    year: int
    conclusion: InspectionConclusion
    remarks: str | None
    concluded_on: dt.date


@dataclass(frozen=True, slots=True)
class Grade:
    evaluation_id: str
    grade: int
    announced_on: dt.date
    valid_from: dt.date
    valid_to: dt.date


@dataclass(frozen=True, slots=True)
class Commendation:
    commendation_id: str
    title: str
    awarding_body: str
    document_number: str | None
    awarded_on: dt.date


@dataclass(frozen=True, slots=True)
class GovernmentProject:
    project_id: str
    name: str
    purchaser: str
    amount_yuan: Decimal
    start_on: dt.date
    end_on: dt.date


@dataclass(frozen=True, slots=True)
class PerformanceEvaluation:
    evaluation_id: str
    project_id: str | None
    project_name: str
    score: Decimal
    conclusion: PerformanceConclusion
    evaluator: str
    evaluated_on: dt.date


@dataclass(frozen=True, slots=True)
class FollowUp:
    evaluation_id: str
    base_id: str | None
    findings: str
    conclusion: PerformanceConclusion
    evaluated_on: dt.date


def violation_of(e: ViolationRecorded) -> Violation:
    return Violation(
        e.violation_id, e.category, e.severity, e.facts, e.evidence_ref, e.base_id, e.found_on
    )


def rectification_of(e: RectificationOrdered) -> Rectification:
    return Rectification(
        e.rectification_id,
        e.violation_id,
        e.requirements,
        e.deadline,
        e.ordered_on,
        e.document_number,
    )


def penalty_of(e: PenaltyImposed) -> Penalty:
    return Penalty(
        e.penalty_id,
        e.kind,
        Decimal(e.amount_yuan) if e.amount_yuan is not None else None,
        e.suspended_until,
        e.violation_id,
        e.document_number,
        e.legal_basis,
        e.deciding_department,
        e.decided_on,
    )


def inspection_of(e: AnnualInspectionConcluded) -> Inspection:
    return Inspection(e.inspection_id, e.year, e.conclusion, e.remarks, e.concluded_on)


def cause_of(credit_list: CreditList, ground: str, ref: str | None, since: dt.date) -> Cause:
    needs = credit_list == "abnormal" and ground in RECTIFIABLE_GROUNDS
    return Cause(ground, ref, since, needs_rectification=needs)


def listing_of(e: AgencyListed) -> Listing:
    return Listing(
        listing_id=e.listing_id,
        list=e.list,
        ground=e.ground,
        detail=e.detail,
        cause_ref=e.cause_ref,
        legal_basis=e.legal_basis,
        listed_on=e.listed_on,
        clock_from=e.listed_on,
        causes=(cause_of(e.list, e.ground, e.cause_ref, e.listed_on),),
    )
