"""What the incubation service can be asked to do. Frozen and typed; the rules live elsewhere.

Dates are Asia/Shanghai calendar dates and come in the command; ids of new things (base, call,
incubation, agreement, training session) are chosen by the client so that a retry is the same.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TypeAlias

from pydantic import BaseModel, ConfigDict, Field
from socialwork_contracts.incubation import (
    BaseEvaluationConclusion,
    BaseFundingPurpose,
    BaseFundingSource,
    BaseLevel,
    ReviewStage,
    TerminationReason,
)
from socialwork_contracts.limits import (
    LIST_MAX_ITEMS,
    BoundedId,
    BoundedIds,
    BoundedName,
    BoundedText,
)
from socialwork_contracts.registry import AgencyKind


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OfficeSpec(BaseModel):
    """One room of a base: id, floor area and whether it is the shared meeting/training room."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    office_id: str = Field(min_length=1, max_length=40)
    area_m2: Decimal = Field(ge=0, decimal_places=2)
    shared_room: bool = False


class _Facilities(_Command):
    offices: tuple[OfficeSpec, ...]
    has_desks_and_chairs: bool
    has_projector: bool
    fire_safety_compliant: bool


# --- the base aggregate (stream = base_id) ---------------------------------------------------


class EstablishBase(_Facilities):
    """Record a new base (建立孵化基地) with its operator, rooms and equipment."""

    base_id: BoundedId
    name: BoundedName
    level: BaseLevel
    reporting_unit: BoundedId
    address: BoundedName
    supervising_department: BoundedName
    operator: BoundedName
    operator_uscc: BoundedId | None = None
    purchase_contract: BoundedName | None = None
    established_on: dt.date


class UpdateFacilities(_Facilities):
    """Replace the base's rooms and equipment (场地设施变更)."""

    base_id: BoundedId
    updated_on: dt.date


class AdoptAdmissionStandard(_Command):
    """Adopt the next version of the admission standard and agreement template (§5.2)."""

    base_id: BoundedId
    version: int
    requirements: tuple[BoundedText, ...] = Field(max_length=LIST_MAX_ITEMS)
    agreement_template: BoundedText
    effective_from: dt.date


class PublishCall(_Command):
    """Publish a call for applications (发布申请通知) with its window and places."""

    base_id: BoundedId
    call_id: BoundedId
    title: BoundedName
    opens_on: dt.date
    closes_on: dt.date
    places: int
    published_on: dt.date


class RecordTraining(_Command):
    """Record a training session held at the base (人才培训)."""

    base_id: BoundedId
    session_id: BoundedId
    title: BoundedName
    held_on: dt.date
    hours: Decimal = Field(decimal_places=2)
    attendees: int
    agency_usccs: BoundedIds = ()


class CloseBase(_Command):
    """Close the base. Refused while it has residents: each must first graduate or be terminated."""

    base_id: BoundedId
    reason: BoundedText
    closed_on: dt.date


class EvaluateBase(_Command):
    """Evaluate the base's operation over a period (基地运行评估, guidance §6.3): the figures are
    the platform's own for the period; the evaluators give the conclusion."""

    base_id: BoundedId
    evaluation_id: BoundedId
    period_start: dt.date
    period_end: dt.date
    conclusion: BaseEvaluationConclusion
    evaluator: BoundedName
    remarks: BoundedText | None = None
    evaluated_on: dt.date


class RecordBaseStaff(_Command):
    """Record the base's full-time staff and how many are qualified (专职人员, §3.4)."""

    base_id: BoundedId
    full_time: int = Field(le=100_000)  # bounded before it can reach the log
    qualified: int = Field(le=100_000)
    counted_on: dt.date


class RecordBaseFunding(_Command):
    """Record money the base received, by source: budget or other (基地经费来源, §6.1)."""

    base_id: BoundedId
    funding_id: BoundedId
    source: BaseFundingSource
    purpose: BaseFundingPurpose
    payer: BoundedName
    amount_yuan: Decimal = Field(decimal_places=2, le=Decimal("99999999999999.99"))
    received_on: dt.date


BaseCommand: TypeAlias = (
    EstablishBase
    | UpdateFacilities
    | AdoptAdmissionStandard
    | PublishCall
    | RecordTraining
    | CloseBase
    | EvaluateBase
    | RecordBaseStaff
    | RecordBaseFunding
)


# --- the incubation aggregate (stream = incubation_id) ---------------------------------------


class SubmitApplication(_Command):
    """Receive an agency's application to a call (入孵申请)."""

    incubation_id: BoundedId
    base_id: BoundedId
    call_id: BoundedId
    uscc: BoundedId
    submitted_on: dt.date
    non_local_reason: BoundedText | None = None  # required when the agency is not local to the base


class ReviewApplication(_Command):
    """Record one passed review stage: intake → first review → panel review → public notice."""

    incubation_id: BoundedId
    stage: ReviewStage
    opinion: BoundedText
    reviewed_on: dt.date


class OpenPublicNotice(_Command):
    """Put the admission to public notice (入孵公示) for a window, after the panel review."""

    incubation_id: BoundedId
    starts_on: dt.date
    ends_on: dt.date


class RecordAdmissionObjection(_Command):
    """Record an objection received during the public notice (公示期异议)."""

    incubation_id: BoundedId
    objection_id: BoundedId
    received_on: dt.date
    summary: BoundedText


class ApproveApplication(_Command):
    """Approve the application after all review stages (准予入孵)."""

    incubation_id: BoundedId
    opinion: BoundedText
    approved_on: dt.date


class RejectApplication(_Command):
    """Refuse the application, with reasons (不予入孵)."""

    incubation_id: BoundedId
    reasons: tuple[BoundedText, ...] = Field(max_length=LIST_MAX_ITEMS)
    rejected_on: dt.date


class SignAgreement(_Command):
    """Sign the incubation agreement: term and the office assigned (签订入孵协议). Without a
    `term_end` the default term in force on the signing day applies (incubation_policy.json)."""

    incubation_id: BoundedId
    agreement_id: BoundedId
    office_id: BoundedId
    term_start: dt.date
    term_end: dt.date | None = None
    signed_on: dt.date


class StartIncubation(_Command):
    """The agency moves into its office (入驻)."""

    incubation_id: BoundedId
    started_on: dt.date


class ExtendIncubation(_Command):
    """Extend the agreement to a new last day (续驻)."""

    incubation_id: BoundedId
    agreement_id: BoundedId
    term_end: dt.date
    extended_on: dt.date


class RecordSupport(_Command):
    """Record support given to the incubated agency (§1); money in exact yuan."""

    incubation_id: BoundedId
    support_type: BoundedId
    funding_type: BoundedId | None = None
    amount_yuan: Decimal | None = Field(default=None, decimal_places=2)
    description: BoundedText
    given_on: dt.date


class GraduateAgency(_Command):
    """Graduate after the exit assessment (出壳): each assessed criterion id → met or not."""

    incubation_id: BoundedId
    assessment: dict[str, bool]
    assessment_summary: BoundedText
    graduated_on: dt.date


class TerminateIncubation(_Command):
    """End the incubation before graduation (退驻), with its reason."""

    incubation_id: BoundedId
    reason: TerminationReason
    detail: BoundedText
    terminated_on: dt.date


class RecordProfessionalServices(_Command):
    """Record the professional services a resident delivered over a period (提供专业服务情况)."""

    incubation_id: BoundedId
    record_id: BoundedId
    period_start: dt.date
    period_end: dt.date
    projects: int = Field(le=1_000_000)  # bounded as the read model's columns hold them
    service_hours: Decimal = Field(decimal_places=2, le=Decimal("99999999.99"))
    beneficiaries: int = Field(le=1_000_000_000)
    description: BoundedText


class MarkTermOverrun(_Command):
    """Record that the stay is past its term without extension (the scheduled check only)."""

    incubation_id: BoundedId
    overrun_on: dt.date


class FlagInactivity(_Command):
    """Record that no activity was recorded for the days in force (the scheduled check only)."""

    incubation_id: BoundedId
    flagged_on: dt.date


class LinkIncubationIdentity(_Command):
    """The group behind this incubation was registered: carry on under its credit code
    (注册协助; sent only by the registry reaction, never over HTTP)."""

    incubation_id: BoundedId
    provisional_id: BoundedId
    uscc: BoundedId
    linked_on: dt.date


# --- the group-in-preparation aggregate (stream = provisional_id; 注册协助, issue 11 §2) --------


class RecordGroupInPreparation(_Command):
    """Take on a group in preparation (筹备中, no credit code yet) for registration assistance."""

    provisional_id: BoundedId  # a client-chosen UUID: the group's identity until registration
    base_id: BoundedId
    name: BoundedName
    kind: AgencyKind
    reporting_unit: BoundedId
    contact_person: BoundedName
    recorded_on: dt.date


class MarkGroupRegistrationOverdue(_Command):
    """Record that the group was not registered by its deadline (the scheduled check only)."""

    provisional_id: BoundedId
    overdue_on: dt.date


class RecordGroupRegistration(_Command):
    """The registry registered the group under a credit code (the registry reaction only)."""

    provisional_id: BoundedId
    uscc: BoundedId
    registered_on: dt.date


GroupCommand: TypeAlias = (
    RecordGroupInPreparation | MarkGroupRegistrationOverdue | RecordGroupRegistration
)


IncubationCommand: TypeAlias = (
    SubmitApplication
    | ReviewApplication
    | OpenPublicNotice
    | RecordAdmissionObjection
    | ApproveApplication
    | RejectApplication
    | SignAgreement
    | StartIncubation
    | ExtendIncubation
    | RecordSupport
    | GraduateAgency
    | TerminateIncubation
    | LinkIncubationIdentity
    | RecordProfessionalServices
    | MarkTermOverrun
    | FlagInactivity
)
