"""The application (guidance §5.2 申请): submission, the review stages, the public notice and
its objections."""

from __future__ import annotations

from typing import TypeAlias, assert_never

from socialwork_contracts.incubation import (
    AdmissionObjectionRecorded,
    ApplicationReviewed,
    ApplicationSubmitted,
    PublicNoticeOpened,
)

from servicekit.decisions import InvalidTransition, RuleViolation, reject_any
from services.incubation.domain import rules
from services.incubation.domain.commands import (
    OpenPublicNotice,
    RecordAdmissionObjection,
    ReviewApplication,
    SubmitApplication,
)
from services.incubation.domain.incubation import (
    Incubation,
    IncubationEvent,
    in_status,
    known_incubation,
)
from services.incubation.domain.incubation_base import open_base
from services.incubation.domain.situation import Situation

ApplicationCommand: TypeAlias = (
    SubmitApplication | ReviewApplication | OpenPublicNotice | RecordAdmissionObjection
)


def decide_application(
    state: Incubation | None, command: ApplicationCommand, situation: Situation
) -> list[IncubationEvent]:
    """The event of an application's submission, review or public notice."""
    match command:
        case SubmitApplication():
            return [submit(state, command, situation)]
        case ReviewApplication():
            return [review(state, command)]
        case OpenPublicNotice():
            return [open_notice(state, command)]
        case RecordAdmissionObjection():
            return [record_objection(state, command)]
        case _:
            assert_never(command)


def submit(
    state: Incubation | None, command: SubmitApplication, situation: Situation
) -> ApplicationSubmitted:
    """guidance §5.2 申请: a registered, active, unlisted agency; 本地 unless a reason is given."""
    if state is not None:
        raise InvalidTransition(
            "duplicate_application", "该申请已存在", f"application {command.incubation_id} exists"
        )
    base = open_base(situation.base, command.base_id)
    call = base.call(command.call_id)
    if call is None:
        raise InvalidTransition(
            "call_not_found", "申请通知不存在", f"no call {command.call_id} at this base"
        )
    found = rules.agency_admissible(situation.agency, command.uscc) + rules.not_elsewhere(situation)
    if not call.open_on(command.submitted_on):
        found.append(
            RuleViolation(
                "call_not_open",
                "submitted_on",
                f"申请日期不在受理期内（{call.opens_on}至{call.closes_on}）",
                f"the call takes applications from {call.opens_on} to {call.closes_on} inclusive",
            )
        )
    # domain.md target 2: a city-level base's locality is the whole city, another base's its unit.
    local = situation.agency is not None and (
        base.level == "city" or situation.agency.reporting_unit == base.reporting_unit
    )
    if not local and situation.agency is not None:
        found += rules.text_present("non_local_reason", command.non_local_reason, "非本地机构理由")
    reject_any(found)
    assert situation.agency is not None
    return ApplicationSubmitted(
        incubation_id=command.incubation_id,
        base_id=base.base_id,
        call_id=call.call_id,
        uscc=command.uscc,
        agency_name=situation.agency.name,
        local=local,
        non_local_reason=None if local else command.non_local_reason,
        submitted_on=command.submitted_on,
    )


def review(state: Incubation | None, command: ReviewApplication) -> ApplicationReviewed:
    """The stages are passed in order: intake, first review, panel review, public notice."""
    s = in_status(
        known_incubation(state, command.incubation_id), frozenset({"submitted"}), "review"
    )
    if command.stage != s.next_stage:
        raise InvalidTransition(
            "review_out_of_order",
            f"审核环节应为{s.next_stage}",
            f"the next review stage is {s.next_stage}, not {command.stage}",
        )
    found = []
    if (
        command.stage == "public_notice"
        and s.notice is not None
        and command.reviewed_on <= s.notice[1]
    ):
        found.append(
            RuleViolation(
                "public_notice_not_over",
                "reviewed_on",
                f"公示期至{s.notice[1]}，期满后方可完成公示环节",
                f"the public notice runs until {s.notice[1]}; the stage is passed after it",
            )
        )
    reject_any(
        found
        + rules.text_present("opinion", command.opinion, "审核意见")
        + rules.date_order(
            "reviewed_on",
            s.last_reviewed_on or s.submitted_on,
            command.reviewed_on,
            "审核日期早于申请或上一环节",
            "reviewed before the application or the previous stage",
        )
    )
    return ApplicationReviewed(
        incubation_id=s.incubation_id,
        base_id=s.base_id,
        uscc=s.uscc,
        stage=command.stage,
        opinion=command.opinion,
        reviewed_on=command.reviewed_on,
    )


def open_notice(state: Incubation | None, command: OpenPublicNotice) -> PublicNoticeOpened:
    """公示: after the panel review, once, for a window of at least the working days in force."""
    s = in_status(
        known_incubation(state, command.incubation_id), frozenset({"submitted"}), "open notice"
    )
    if s.next_stage != "public_notice" or s.notice is not None:
        raise InvalidTransition(
            "public_notice_not_due",
            "评审通过后方可公示，且只公示一次",
            "the public notice follows the panel review, once",
        )
    reject_any(
        rules.date_order(
            "starts_on",
            s.last_reviewed_on or s.submitted_on,
            command.starts_on,
            "公示开始早于评审",
            "the notice starts before the panel review",
        )
        + rules.notice_window(command.starts_on, command.ends_on)
    )
    return PublicNoticeOpened(
        incubation_id=s.incubation_id,
        base_id=s.base_id,
        uscc=s.uscc,
        agency_name=s.agency_name,
        starts_on=command.starts_on,
        ends_on=command.ends_on,
    )


def record_objection(
    state: Incubation | None, command: RecordAdmissionObjection
) -> AdmissionObjectionRecorded:
    """An objection is recorded when it was received within the window (公示期内)."""
    s = known_incubation(state, command.incubation_id)
    if s.notice is None:
        raise InvalidTransition(
            "no_public_notice", "该申请未进行公示", "the application has not been put to notice"
        )
    if command.objection_id in s.objections:
        raise InvalidTransition("duplicate_objection", "该异议已记录", "objection already recorded")
    starts_on, ends_on = s.notice
    found = rules.text_present("summary", command.summary, "异议内容")
    if not starts_on <= command.received_on <= ends_on:
        found.append(
            RuleViolation(
                "outside_public_notice",
                "received_on",
                f"收到日期不在公示期内（{starts_on}至{ends_on}）",
                f"received outside the notice window {starts_on} to {ends_on}",
            )
        )
    reject_any(found)
    return AdmissionObjectionRecorded(
        incubation_id=s.incubation_id,
        base_id=s.base_id,
        uscc=s.uscc,
        objection_id=command.objection_id,
        received_on=command.received_on,
        summary=command.summary,
    )
