"""What the supervision service can be asked to do. Frozen, typed only; dates and ids come in.

Every command names the agency (`uscc`, its credit file's stream). Creation-like commands carry
the new record's id (a client-chosen UUID) so that a retry is the same command.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field
from socialwork_contracts.supervision import (
    CreditList,
    InspectionConclusion,
    PenaltyKind,
    PerformanceConclusion,
    Severity,
)


@dataclass(frozen=True, slots=True)
class AgencyFacts:
    """What the supervision service has learnt of an agency from the registry and incubation."""

    uscc: str
    name: str
    reporting_unit: str
    registered_on: dt.date
    status: str
    base_id: str | None = None  # the base it was resident in on the command's date, if any
    graduated_from: str | None = None  # the base of its latest graduation (出壳), if any
    graduated_on: dt.date | None = None


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    uscc: str = Field(description="统一社会信用代码 of the agency (its credit file)")


class RecordViolation(_Command):
    """Record a violation found (违规行为, guidance §6.2); the base is added if resident."""

    violation_id: str
    category: str
    severity: Severity
    facts: str
    evidence_ref: str
    found_on: dt.date


class OrderRectification(_Command):
    """Order the agency to correct a violation by a deadline (责令改正, inclusive)."""

    rectification_id: str
    violation_id: str
    requirements: str
    deadline: dt.date
    ordered_on: dt.date
    document_number: str | None = None


class ConfirmRectification(_Command):
    """Record that the rectification was verified (整改到位)."""

    rectification_id: str
    verification: str
    confirmed_on: dt.date


class ImposePenalty(_Command):
    """Record an administrative penalty (行政处罚); listings follow from it."""

    penalty_id: str
    kind: PenaltyKind
    amount_yuan: Decimal | None = Field(default=None, ge=0, decimal_places=2)
    suspended_until: dt.date | None = None
    violation_id: str | None = None
    document_number: str
    legal_basis: str
    deciding_department: str
    decided_on: dt.date
    reason: str | None = None


class ConcludeAnnualInspection(_Command):
    """Record the conclusion of one year's annual inspection or annual report (年检/年报)."""

    inspection_id: str
    year: int
    conclusion: InspectionConclusion
    remarks: str | None = None
    concluded_on: dt.date


class AwardEvaluationGrade(_Command):
    """Record an announced evaluation grade (评估等级 1A-5A); validity is computed."""

    evaluation_id: str
    grade: int
    announced_on: dt.date


class RecordCommendation(_Command):
    """Record a commendation or award (表彰奖励)."""

    commendation_id: str
    title: str
    awarding_body: str
    document_number: str | None = None
    awarded_on: dt.date


class RecordGovernmentProject(_Command):
    """Record a government project the agency undertook (承接政府购买服务项目)."""

    project_id: str
    name: str
    purchaser: str
    amount_yuan: Decimal = Field(ge=0, decimal_places=2)
    start_on: dt.date
    end_on: dt.date


class EvaluateProjectPerformance(_Command):
    """Record a funded project's performance evaluation (绩效评价): score and conclusion."""

    evaluation_id: str
    project_id: str | None = None
    project_name: str
    score: Decimal = Field(ge=0, le=100, decimal_places=2)
    conclusion: PerformanceConclusion
    evaluator: str
    evaluated_on: dt.date


class RecordFollowUpEvaluation(_Command):
    """Record a follow-up evaluation of a graduated agency (guidance §6.2)."""

    evaluation_id: str
    findings: str
    conclusion: PerformanceConclusion
    evaluated_on: dt.date


class ListAgency(_Command):
    """Put the agency on a list for a ground not derived from facts recorded here."""

    listing_id: str
    list: CreditList
    ground: str
    detail: str
    legal_basis: str
    listed_on: dt.date


class DelistAgency(_Command):
    """Remove the agency from a list by decision (not by the clock)."""

    listing_id: str
    reason: Literal[
        "rectification_verified",
        "two_years_no_new_ground",
        "deregistration_completed",
        "decision_withdrawn",
    ]
    detail: str
    removed_on: dt.date


# Issued by the scheduled check only (deterministic ids; no HTTP route).
class MarkRectificationOverdue(_Command):
    rectification_id: str
    overdue_on: dt.date


class ExpireListing(_Command):
    listing_id: str
    removed_on: dt.date


class EscalateListing(_Command):
    listing_id: str
    escalated_on: dt.date


SupervisionCommand: TypeAlias = (
    RecordViolation
    | OrderRectification
    | ConfirmRectification
    | ImposePenalty
    | ConcludeAnnualInspection
    | AwardEvaluationGrade
    | RecordCommendation
    | RecordGovernmentProject
    | EvaluateProjectPerformance
    | RecordFollowUpEvaluation
    | ListAgency
    | DelistAgency
    | MarkRectificationOverdue
    | ExpireListing
    | EscalateListing
)
