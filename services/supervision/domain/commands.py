"""What the supervision service can be asked to do. Frozen, typed only; dates and ids come in.

Every command names the agency (`uscc`, its credit file's stream). Creation-like commands carry
the new record's id (a client-chosen UUID) so that a retry is the same command. Every text is
bounded (`socialwork_contracts.limits`) so that no event can outgrow a Kafka record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field
from socialwork_contracts.limits import BoundedId, BoundedName, BoundedText
from socialwork_contracts.supervision import (
    CreditList,
    InspectionConclusion,
    PenaltyKind,
    PerformanceConclusion,
    Severity,
)


@dataclass(frozen=True, slots=True)
class KnownAgency:
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

    uscc: BoundedId = Field(description="统一社会信用代码 of the agency (its credit file)")


class RecordViolation(_Command):
    """Record a violation found (违规行为, guidance §6.2); the base is added if resident."""

    violation_id: BoundedId
    category: BoundedId
    severity: Severity
    facts: BoundedText
    evidence_ref: BoundedText
    found_on: dt.date


class OrderRectification(_Command):
    """Order the agency to correct a violation by a deadline (责令改正, inclusive)."""

    rectification_id: BoundedId
    violation_id: BoundedId
    requirements: BoundedText
    deadline: dt.date
    ordered_on: dt.date
    document_number: BoundedName | None = None


class ConfirmRectification(_Command):
    """Record that the rectification was verified (整改到位)."""

    rectification_id: BoundedId
    verification: BoundedText
    confirmed_on: dt.date


class ImposePenalty(_Command):
    """Record an administrative penalty (行政处罚); listings follow from it."""

    penalty_id: BoundedId
    kind: PenaltyKind
    amount_yuan: Decimal | None = Field(default=None, ge=0, decimal_places=2)
    suspended_until: dt.date | None = None
    violation_id: BoundedId | None = None
    document_number: BoundedName
    legal_basis: BoundedText
    deciding_department: BoundedName
    decided_on: dt.date
    reason: BoundedText | None = None


class ConcludeAnnualInspection(_Command):
    """Record the conclusion of one year's annual inspection or annual report (年检/年报)."""

    inspection_id: BoundedId
    year: int
    conclusion: InspectionConclusion
    remarks: BoundedText | None = None
    concluded_on: dt.date


class RecordSponsorReview(_Command):
    """Record the sponsor's preliminary review (业务主管单位初审) of a working year's report."""

    year: int = Field(ge=1990, le=2100)
    sponsor: BoundedName
    opinion: BoundedText
    reviewed_on: dt.date


class FileAnnualReport(_Command):
    """Record that the working year's annual report was filed with civil affairs (报送)."""

    year: int = Field(ge=1990, le=2100)
    filed_on: dt.date


class AwardEvaluationGrade(_Command):
    """Record an announced evaluation grade (评估等级 1A-5A); validity is computed."""

    evaluation_id: BoundedId
    grade: int
    announced_on: dt.date


class RecordCommendation(_Command):
    """Record a commendation or award (表彰奖励)."""

    commendation_id: BoundedId
    title: BoundedName
    awarding_body: BoundedName
    document_number: BoundedName | None = None
    awarded_on: dt.date


class RecordGovernmentProject(_Command):
    """Record a government project the agency undertook (承接政府购买服务项目)."""

    project_id: BoundedId
    name: BoundedName
    purchaser: BoundedName
    amount_yuan: Decimal = Field(ge=0, decimal_places=2)
    start_on: dt.date
    end_on: dt.date


class EvaluateProjectPerformance(_Command):
    """Record a funded project's performance evaluation (绩效评价): score and conclusion."""

    evaluation_id: BoundedId
    project_id: BoundedId | None = None
    project_name: BoundedName
    score: Decimal = Field(ge=0, le=100, decimal_places=2)
    conclusion: PerformanceConclusion
    evaluator: BoundedName
    evaluated_on: dt.date


class RecordFollowUpEvaluation(_Command):
    """Record a follow-up evaluation of a graduated agency (guidance §6.2)."""

    evaluation_id: BoundedId
    findings: BoundedText
    conclusion: PerformanceConclusion
    evaluated_on: dt.date


class ListAgency(_Command):
    """Put the agency on a list for a ground not derived from facts recorded here."""

    listing_id: BoundedId
    list: CreditList
    ground: BoundedId
    detail: BoundedText
    legal_basis: BoundedText
    listed_on: dt.date


class DelistAgency(_Command):
    """Remove the agency from a list by decision (not by the clock)."""

    listing_id: BoundedId
    reason: Literal[
        "rectification_verified",
        "two_years_no_new_ground",
        "deregistration_completed",
        "decision_withdrawn",
    ]
    detail: BoundedText
    removed_on: dt.date


# Issued by the scheduled check only (deterministic ids; no HTTP route).
class MarkRectificationOverdue(_Command):
    rectification_id: BoundedId
    overdue_on: dt.date


class ExpireListing(_Command):
    listing_id: BoundedId
    removed_on: dt.date


class MarkAnnualReportOverdue(_Command):
    year: int
    overdue_on: dt.date


class EscalateListing(_Command):
    listing_id: BoundedId
    escalated_on: dt.date


# Issued by the process manager that follows the registry (no HTTP route): the registration
# decision belongs to the registry, its credit consequence to supervision.
class ListForRegistrationSanction(_Command):
    kind: Literal["suspension", "revocation"]
    decided_on: dt.date
    decision_document: BoundedName | None
    cause_ref: BoundedId  # the registry event's id


SupervisionCommand: TypeAlias = (
    RecordViolation
    | OrderRectification
    | ConfirmRectification
    | ImposePenalty
    | ConcludeAnnualInspection
    | RecordSponsorReview
    | FileAnnualReport
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
    | MarkAnnualReportOverdue
    | ListForRegistrationSanction
)
