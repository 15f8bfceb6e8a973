"""One agency's application to a base and, if admitted, its stay there (one stream each)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeAlias

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

from servicekit.decisions import EventOutOfOrder, InvalidTransition, exhaustive, present

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
    if isinstance(event, ApplicationSubmitted):
        if state is not None:
            raise EventOutOfOrder(f"incubation {event.incubation_id} already exists")
        return _submitted(event)
    return _APPLY[type(event)](_existing(state, event), event)


def _submitted(event: ApplicationSubmitted) -> Incubation:
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


def _reviewed(s: Incubation, event: ApplicationReviewed) -> Incubation:
    return replace(s, reviews=(*s.reviews, event.stage), last_reviewed_on=event.reviewed_on)


def _approved(s: Incubation, event: ApplicationApproved) -> Incubation:
    return replace(s, status="approved", decided_on=event.approved_on)


def _rejected(s: Incubation, event: ApplicationRejected) -> Incubation:
    return replace(
        s, status="rejected", decided_on=event.rejected_on, rejection_reasons=tuple(event.reasons)
    )


def _signed(s: Incubation, event: AgreementSigned) -> Incubation:
    agreement = Agreement(
        event.agreement_id,
        event.office_id,
        event.term_start,
        event.term_end,
        tuple(event.obligations),
        event.standard_version,
        event.signed_on,
    )
    return replace(s, status="signed", agreement=agreement)


def _started(s: Incubation, event: IncubationStarted) -> Incubation:
    s = _active(s, event.started_on)
    return replace(s, status="incubating", started_on=event.started_on)


def _extended(s: Incubation, event: IncubationExtended) -> Incubation:
    s = _active(s, event.extended_on)
    agreement = _agreement(s, event)
    extensions = (*agreement.extensions, event.agreement_id)
    return replace(s, agreement=replace(agreement, term_end=event.term_end, extensions=extensions))


def _supported(s: Incubation, event: SupportRecorded) -> Incubation:
    s = _active(s, event.given_on)
    funded = s.funded_count + (1 if event.support_type == "funding" else 0)
    return replace(s, support_count=s.support_count + 1, funded_count=funded)


def _services_recorded(s: Incubation, event: ProfessionalServicesRecorded) -> Incubation:
    s = _active(s, event.period_end)
    return replace(s, service_records=(*s.service_records, event.record_id))


def _term_overrun(s: Incubation, event: IncubationTermOverrun) -> Incubation:
    return replace(s, overruns=(*s.overruns, event.term_end))


def _inactivity_flagged(s: Incubation, event: IncubationInactivityFlagged) -> Incubation:
    return replace(s, quiet_spells=(*s.quiet_spells, event.last_activity_on))


def _graduated(s: Incubation, event: AgencyGraduated) -> Incubation:
    return replace(s, status="graduated", ended_on=event.graduated_on)


def _terminated(s: Incubation, event: IncubationTerminated) -> Incubation:
    return replace(
        s, status="terminated", ended_on=event.terminated_on, termination_reason=event.reason
    )


def _notice_opened(s: Incubation, event: PublicNoticeOpened) -> Incubation:
    return replace(s, notice=(event.starts_on, event.ends_on))


def _objected(s: Incubation, event: AdmissionObjectionRecorded) -> Incubation:
    return replace(s, objections=(*s.objections, event.objection_id))


def _linked(s: Incubation, event: IncubationIdentityLinked) -> Incubation:
    # 注册协助: the group was registered; the stay and its history are the agency's now.
    return replace(s, uscc=event.uscc, provisional_id=event.provisional_id)


_APPLY: dict[type, Callable[[Incubation, Any], Incubation]] = exhaustive(
    IncubationEvent,
    {
        ApplicationReviewed: _reviewed,
        ApplicationApproved: _approved,
        ApplicationRejected: _rejected,
        AgreementSigned: _signed,
        IncubationStarted: _started,
        IncubationExtended: _extended,
        SupportRecorded: _supported,
        AgencyGraduated: _graduated,
        IncubationTerminated: _terminated,
        PublicNoticeOpened: _notice_opened,
        AdmissionObjectionRecorded: _objected,
        IncubationIdentityLinked: _linked,
        ProfessionalServicesRecorded: _services_recorded,
        IncubationTermOverrun: _term_overrun,
        IncubationInactivityFlagged: _inactivity_flagged,
    },
    apart=(ApplicationSubmitted,),
)


def _existing(state: Incubation | None, event: IncubationEvent) -> Incubation:
    return present(state, EventOutOfOrder(f"{event.type_key()} before ApplicationSubmitted"))


def _active(state: Incubation, day: dt.date) -> Incubation:
    """The stay with `day` as activity (the latest day wins: a backdated record keeps it)."""
    if state.last_activity_on is not None and state.last_activity_on >= day:
        return state
    return replace(state, last_activity_on=day)


def _agreement(state: Incubation, event: IncubationEvent) -> Agreement:
    return present(state.agreement, EventOutOfOrder(f"{event.type_key()} before AgreementSigned"))


def known_incubation(state: Incubation | None, incubation_id: str) -> Incubation:
    """The application/incubation, or `incubation_not_found` (404)."""
    return present(
        state,
        InvalidTransition(
            "incubation_not_found",
            f"入孵申请{incubation_id}不存在",
            f"no application or incubation with id {incubation_id}",
        ),
    )


def in_status(state: Incubation, allowed: frozenset[Status], action_en: str) -> Incubation:
    """The state if its status allows the action; `wrong_status` (409) otherwise."""
    if state.status in allowed:
        return state
    raise InvalidTransition(
        "wrong_status",
        f"当前状态（{state.status}）不允许此操作",
        f"cannot {action_en} while the incubation is {state.status}",
    )
