"""One agency's application to a base and, if admitted, its stay there (one stream each)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Literal, TypeAlias, assert_never

from socialwork_contracts.incubation import (
    AdmissionObjectionRecorded,
    AgencyGraduated,
    AgreementSigned,
    ApplicationApproved,
    ApplicationRejected,
    ApplicationReviewed,
    ApplicationSubmitted,
    IncubationExtended,
    IncubationIdentityLinked,
    IncubationInactivityFlagged,
    IncubationStarted,
    IncubationTerminated,
    IncubationTermOverrun,
    ProfessionalServicesRecorded,
    PublicNoticeOpened,
    ReviewStage,
    SupportRecorded,
    TerminationReason,
)

from servicekit.decisions import EventOutOfOrder, InvalidTransition

IncubationEvent: TypeAlias = (
    ApplicationSubmitted
    | ApplicationReviewed
    | ApplicationApproved
    | ApplicationRejected
    | AgreementSigned
    | IncubationStarted
    | IncubationExtended
    | SupportRecorded
    | AgencyGraduated
    | IncubationTerminated
    | IncubationIdentityLinked
    | PublicNoticeOpened
    | AdmissionObjectionRecorded
    | ProfessionalServicesRecorded
    | IncubationTermOverrun
    | IncubationInactivityFlagged
)

Status = Literal[
    "submitted", "rejected", "approved", "signed", "incubating", "graduated", "terminated"
]
# guidance §5.2: 受理 → 初审 → 评审 → 公示, in this order.
REVIEW_STAGES: tuple[ReviewStage, ...] = ("intake", "first_review", "panel_review", "public_notice")
# Statuses that hold a place at the base (and the agency): approved until it leaves.
HOLDING: frozenset[Status] = frozenset({"approved", "signed", "incubating"})
# Statuses that hold an office: from the signed agreement until it leaves.
OCCUPYING: frozenset[Status] = frozenset({"signed", "incubating"})


@dataclass(frozen=True, slots=True)
class Agreement:
    agreement_id: str
    office_id: str
    term_start: dt.date
    term_end: dt.date  # inclusive; moved by extensions
    obligations: tuple[str, ...]
    standard_version: int
    signed_on: dt.date
    extensions: tuple[str, ...] = ()  # agreement ids of 续驻 agreements


@dataclass(frozen=True, slots=True)
class Incubation:
    incubation_id: str
    base_id: str
    call_id: str
    uscc: str
    agency_name: str
    local: bool
    non_local_reason: str | None
    submitted_on: dt.date
    status: Status = "submitted"
    reviews: tuple[ReviewStage, ...] = ()
    last_reviewed_on: dt.date | None = None
    decided_on: dt.date | None = None  # approval or rejection
    rejection_reasons: tuple[str, ...] = ()
    agreement: Agreement | None = None
    started_on: dt.date | None = None
    ended_on: dt.date | None = None
    termination_reason: TerminationReason | None = None
    support_count: int = 0
    funded_count: int = 0  # support records of type funding (a graduation criterion)
    provisional_id: str | None = None  # 注册协助: the group's id, once linked to its credit code
    notice: tuple[dt.date, dt.date] | None = None  # 公示期 [start, end], inclusive
    objections: tuple[str, ...] = ()  # ids of objections received during the notice
    # Activity recorded for the stay (move-in, support, services, extension): its latest day.
    last_activity_on: dt.date | None = None
    service_records: tuple[str, ...] = ()  # 提供专业服务 record ids
    overruns: tuple[dt.date, ...] = ()  # term ends flagged as overrun (期满未续驻)
    quiet_spells: tuple[dt.date, ...] = ()  # last-activity days flagged inactive

    @property
    def office_id(self) -> str | None:
        return self.agreement.office_id if self.agreement else None

    @property
    def next_stage(self) -> ReviewStage | None:
        done = len(self.reviews)
        return REVIEW_STAGES[done] if done < len(REVIEW_STAGES) else None


def evolve(state: Incubation | None, event: IncubationEvent) -> Incubation:
    """Apply one incubation event; EventOutOfOrder when it cannot follow the state."""
    match event:
        case ApplicationSubmitted():
            if state is not None:
                raise EventOutOfOrder(f"incubation {event.incubation_id} already exists")
            return Incubation(
                incubation_id=event.incubation_id,
                base_id=event.base_id,
                call_id=event.call_id,
                uscc=event.uscc,
                agency_name=event.agency_name,
                local=event.local,
                non_local_reason=event.non_local_reason,
                submitted_on=event.submitted_on,
            )
        case ApplicationReviewed():
            s = _existing(state, event)
            return replace(s, reviews=(*s.reviews, event.stage), last_reviewed_on=event.reviewed_on)
        case ApplicationApproved():
            return replace(_existing(state, event), status="approved", decided_on=event.approved_on)
        case ApplicationRejected():
            return replace(
                _existing(state, event),
                status="rejected",
                decided_on=event.rejected_on,
                rejection_reasons=tuple(event.reasons),
            )
        case AgreementSigned():
            agreement = Agreement(
                event.agreement_id,
                event.office_id,
                event.term_start,
                event.term_end,
                tuple(event.obligations),
                event.standard_version,
                event.signed_on,
            )
            return replace(_existing(state, event), status="signed", agreement=agreement)
        case IncubationStarted():
            s = _active(_existing(state, event), event.started_on)
            return replace(s, status="incubating", started_on=event.started_on)
        case IncubationExtended():
            s = _active(_existing(state, event), event.extended_on)
            agreement = _agreement(s, event)
            return replace(
                s,
                agreement=replace(
                    agreement,
                    term_end=event.term_end,
                    extensions=(*agreement.extensions, event.agreement_id),
                ),
            )
        case SupportRecorded():
            s = _active(_existing(state, event), event.given_on)
            funded = s.funded_count + (1 if event.support_type == "funding" else 0)
            return replace(s, support_count=s.support_count + 1, funded_count=funded)
        case ProfessionalServicesRecorded():
            s = _active(_existing(state, event), event.period_end)
            return replace(s, service_records=(*s.service_records, event.record_id))
        case IncubationTermOverrun():
            s = _existing(state, event)
            return replace(s, overruns=(*s.overruns, event.term_end))
        case IncubationInactivityFlagged():
            s = _existing(state, event)
            return replace(s, quiet_spells=(*s.quiet_spells, event.last_activity_on))
        case AgencyGraduated():
            return replace(_existing(state, event), status="graduated", ended_on=event.graduated_on)
        case IncubationTerminated():
            return replace(
                _existing(state, event),
                status="terminated",
                ended_on=event.terminated_on,
                termination_reason=event.reason,
            )
        case PublicNoticeOpened():
            return replace(_existing(state, event), notice=(event.starts_on, event.ends_on))
        case AdmissionObjectionRecorded():
            s = _existing(state, event)
            return replace(s, objections=(*s.objections, event.objection_id))
        case IncubationIdentityLinked():
            # 注册协助: the group was registered; the stay and its history are the agency's now.
            return replace(
                _existing(state, event), uscc=event.uscc, provisional_id=event.provisional_id
            )
        case _:
            assert_never(event)


def _existing(state: Incubation | None, event: IncubationEvent) -> Incubation:
    if state is None:
        raise EventOutOfOrder(f"{event.type_key()} before ApplicationSubmitted")
    return state


def _active(state: Incubation, day: dt.date) -> Incubation:
    """The stay with `day` as activity (the latest day wins: a backdated record keeps it)."""
    if state.last_activity_on is not None and state.last_activity_on >= day:
        return state
    return replace(state, last_activity_on=day)


def _agreement(state: Incubation, event: IncubationEvent) -> Agreement:
    if state.agreement is None:
        raise EventOutOfOrder(f"{event.type_key()} before AgreementSigned")
    return state.agreement


def known_incubation(state: Incubation | None, incubation_id: str) -> Incubation:
    """The application/incubation, or `incubation_not_found` (404)."""
    if state is None:
        raise InvalidTransition(
            "incubation_not_found",
            f"入孵申请{incubation_id}不存在",
            f"no application or incubation with id {incubation_id}",
        )
    return state


def in_status(state: Incubation, allowed: frozenset[Status], action_en: str) -> Incubation:
    """The state if its status allows the action; `wrong_status` (409) otherwise."""
    if state.status in allowed:
        return state
    raise InvalidTransition(
        "wrong_status",
        f"当前状态（{state.status}）不允许此操作",
        f"cannot {action_en} while the incubation is {state.status}",
    )
