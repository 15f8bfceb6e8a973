"""decide(state, command, situation) -> events for an incubation: pure (no clock, no ids, no I/O).

The invariants of issue #3, each enforced here and tested in tests/incubation:
one agency per office; an agency in at most one incubation at a time; no admission beyond the
offices available (nor the call's places); no admission of an agency that is not registered and
active; no admission, funding or graduation of an agency on a credit list; an agreement cannot
start before it is signed nor end before it starts.
"""

from __future__ import annotations

from typing import assert_never

from socialwork_contracts.incubation import (
    AGREEMENT_OBLIGATIONS,
    AdmissionObjectionRecorded,
    AgencyGraduated,
    AgreementSigned,
    ApplicationApproved,
    ApplicationRejected,
    ApplicationReviewed,
    ApplicationSubmitted,
    IncubationExtended,
    IncubationIdentityLinked,
    IncubationStarted,
    IncubationTerminated,
    PublicNoticeOpened,
    SupportRecorded,
)

from servicekit.decisions import InvalidTransition, RuleViolation, reject_any
from services.incubation.domain import rules, services_delivered, term
from services.incubation.domain.commands import (
    ApproveApplication,
    ExtendIncubation,
    FlagInactivity,
    GraduateAgency,
    IncubationCommand,
    LinkIncubationIdentity,
    MarkTermOverrun,
    OpenPublicNotice,
    RecordAdmissionObjection,
    RecordProfessionalServices,
    RecordSupport,
    RejectApplication,
    ReviewApplication,
    SignAgreement,
    StartIncubation,
    SubmitApplication,
    TerminateIncubation,
)
from services.incubation.domain.incubation import (
    HOLDING,
    Incubation,
    IncubationEvent,
    in_status,
    known_incubation,
)
from services.incubation.domain.incubation_base import IncubationBase, known_base
from services.incubation.domain.situation import KnownAgency, Situation


def decide_incubation(
    state: Incubation | None, command: IncubationCommand, situation: Situation
) -> list[IncubationEvent]:
    """The events an incubation command produces; DomainRejected or InvalidTransition."""
    match command:
        case SubmitApplication():
            return [submit(state, command, situation)]
        case ReviewApplication():
            return [review(state, command)]
        case OpenPublicNotice():
            return [open_notice(state, command)]
        case RecordAdmissionObjection():
            return [record_objection(state, command)]
        case ApproveApplication():
            return [approve(state, command, situation)]
        case RejectApplication():
            return [reject(state, command)]
        case SignAgreement():
            return [sign(state, command, situation)]
        case StartIncubation():
            return [start(state, command, situation)]
        case ExtendIncubation():
            return [extend(state, command)]
        case RecordSupport():
            return [record_support(state, command, situation)]
        case GraduateAgency():
            return [graduate(state, command, situation)]
        case TerminateIncubation():
            return [terminate(state, command)]
        case LinkIncubationIdentity():
            return [link_identity(state, command)]
        case RecordProfessionalServices():
            return [services_delivered.record_services(state, command)]
        case MarkTermOverrun():
            return [term.mark_overrun(state, command)]
        case FlagInactivity():
            return [term.flag_inactivity(state, command)]
        case _:
            assert_never(command)


def _open_base(situation: Situation, base_id: str) -> IncubationBase:
    base = known_base(situation.base, base_id)
    if base.is_closed:
        raise InvalidTransition("base_closed", "孵化基地已关闭", f"base {base_id} is closed")
    return base


def _not_elsewhere(situation: Situation) -> list[RuleViolation]:
    """Invariant: an agency is in at most one incubation (approved, signed or incubating)."""
    if not situation.agency_holding:
        return []
    return [
        RuleViolation(
            "agency_already_incubating",
            "uscc",
            "该机构已在孵化中（或已获准入孵），同一时间只能入孵一处",
            f"the agency already holds a place in incubation {situation.agency_holding[0]}",
        )
    ]


def submit(
    state: Incubation | None, command: SubmitApplication, situation: Situation
) -> ApplicationSubmitted:
    """guidance §5.2 申请: a registered, active, unlisted agency; 本地 unless a reason is given."""
    if state is not None:
        raise InvalidTransition(
            "duplicate_application", "该申请已存在", f"application {command.incubation_id} exists"
        )
    base = _open_base(situation, command.base_id)
    call = base.call(command.call_id)
    if call is None:
        raise InvalidTransition(
            "call_not_found", "申请通知不存在", f"no call {command.call_id} at this base"
        )
    found = rules.agency_admissible(situation.agency, command.uscc) + _not_elsewhere(situation)
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


def approve(
    state: Incubation | None, command: ApproveApplication, situation: Situation
) -> ApplicationApproved:
    """Admission: all stages passed; agency admissible; a free office and a place in the call."""
    s = in_status(
        known_incubation(state, command.incubation_id), frozenset({"submitted"}), "approve"
    )
    base = _open_base(situation, s.base_id)
    found: list[RuleViolation] = []
    if s.next_stage is not None:
        found.append(
            RuleViolation(
                "review_incomplete",
                "incubation_id",
                "审核尚未完成（受理、初审、评审、公示）",
                f"review not complete: {s.next_stage} is still to do",
            )
        )
    found += rules.hardware_standard(base.facilities)
    found += rules.agency_admissible(situation.agency, s.uscc) + _not_elsewhere(situation)
    offices = len(rules.allottable_offices(base.facilities))
    if situation.base_holding >= offices:
        found.append(
            RuleViolation(
                "no_office_available",
                "base_id",
                f"基地{offices}间可分配办公室均已占用或预留",
                f"all {offices} allottable offices of the base are taken or reserved",
            )
        )
    call = base.call(s.call_id)
    if call is not None and situation.call_approved >= call.places:
        found.append(
            RuleViolation(
                "call_places_full",
                "call_id",
                f"本次申请通知{call.places}个名额已满",
                f"the call's {call.places} places are all taken",
            )
        )
    found += rules.text_present("opinion", command.opinion, "审批意见")
    found += rules.date_order(
        "approved_on",
        s.last_reviewed_on or s.submitted_on,
        command.approved_on,
        "批准日期早于审核",
        "approved before the review ended",
    )
    reject_any(found)
    return ApplicationApproved(
        incubation_id=s.incubation_id,
        base_id=s.base_id,
        call_id=s.call_id,
        uscc=s.uscc,
        opinion=command.opinion,
        approved_on=command.approved_on,
    )


def reject(state: Incubation | None, command: RejectApplication) -> ApplicationRejected:
    """Refuse at any stage before approval; at least one reason is recorded."""
    s = in_status(
        known_incubation(state, command.incubation_id), frozenset({"submitted"}), "reject"
    )
    reasons = [r for r in command.reasons if r.strip()]
    found = (
        []
        if reasons
        else [RuleViolation("reasons_missing", "reasons", "须说明不予入孵理由", "give a reason")]
    )
    found += rules.date_order(
        "rejected_on", s.submitted_on, command.rejected_on, "决定日期早于申请", "before applying"
    )
    reject_any(found)
    return ApplicationRejected(
        incubation_id=s.incubation_id,
        base_id=s.base_id,
        call_id=s.call_id,
        uscc=s.uscc,
        stage=s.next_stage if s.reviews else None,
        reasons=reasons,
        rejected_on=command.rejected_on,
    )


def sign(state: Incubation | None, command: SignAgreement, situation: Situation) -> AgreementSigned:
    """§5.3 agreement: one free allottable office; term starts no earlier than signing and ends
    no earlier than it starts (both ends inclusive: a one-day term is start == end)."""
    s = in_status(known_incubation(state, command.incubation_id), frozenset({"approved"}), "sign")
    term_end, default_months = term.agreed_term(command)  # default term when none was named
    base = _open_base(situation, s.base_id)
    found = rules.agency_admissible(situation.agency, s.uscc)  # revoked or listed since approval
    room = base.room(command.office_id)
    if room is None or room not in rules.allottable_offices(base.facilities):
        found.append(
            RuleViolation(
                "office_not_allottable",
                "office_id",
                f"办公室{command.office_id}不存在或不可分配（共用会议室或不足15m²）",
                f"office {command.office_id} does not exist or cannot be given to one agency",
            )
        )
    elif command.office_id in situation.occupied_offices:
        found.append(
            RuleViolation(
                "office_occupied",
                "office_id",
                f"办公室{command.office_id}已分配给其他机构（一室一机构）",
                f"office {command.office_id} is already assigned (one agency per office)",
            )
        )
    found += rules.date_order(
        "term_start",
        command.signed_on,
        command.term_start,
        "协议不能早于签订日期开始",
        "the agreement cannot start before it is signed",
    )
    found += rules.date_order(
        "term_end",
        command.term_start,
        term_end,
        "协议不能在开始前结束",
        "the agreement cannot end before it starts",
    )
    found += rules.date_order(
        "signed_on",
        s.decided_on or s.submitted_on,
        command.signed_on,
        "签订日期早于批准日期",
        "signed before the approval",
    )
    standard = base.standard_on(command.signed_on)
    if standard is None:
        found.append(
            RuleViolation(
                "no_admission_standard",
                "signed_on",
                "签订日无生效的协议范本",
                "no admission standard and template in force on the signing day",
            )
        )
    reject_any(found)
    assert standard is not None
    return AgreementSigned(
        incubation_id=s.incubation_id,
        base_id=s.base_id,
        uscc=s.uscc,
        agreement_id=command.agreement_id,
        office_id=command.office_id,
        term_start=command.term_start,
        term_end=term_end,
        obligations=list(AGREEMENT_OBLIGATIONS),
        standard_version=standard.version,
        signed_on=command.signed_on,
        default_term_months=default_months,
    )


def start(
    state: Incubation | None, command: StartIncubation, situation: Situation
) -> IncubationStarted:
    """入驻 within the agreed term (term_start ≤ started_on ≤ term_end), agency still admissible."""
    s = in_status(known_incubation(state, command.incubation_id), frozenset({"signed"}), "move in")
    agreement = s.agreement
    assert agreement is not None
    found = rules.agency_admissible(situation.agency, s.uscc)
    found += rules.date_order(
        "started_on",
        agreement.term_start,
        command.started_on,
        "入驻日期早于协议开始",
        "moved in before the term starts",
    )
    found += rules.date_order(
        "started_on",
        command.started_on,
        agreement.term_end,
        "入驻日期晚于协议结束",
        "moved in after the term ended",
    )
    reject_any(found)
    return IncubationStarted(
        incubation_id=s.incubation_id,
        base_id=s.base_id,
        agreement_id=agreement.agreement_id,
        uscc=s.uscc,
        office_id=agreement.office_id,
        term_start=agreement.term_start,
        term_end=agreement.term_end,
        started_on=command.started_on,
        local=s.local,
        non_local_reason=s.non_local_reason,
    )


def extend(state: Incubation | None, command: ExtendIncubation) -> IncubationExtended:
    """续驻: signed during the term (on or before its last day), to a later last day."""
    s = in_status(
        known_incubation(state, command.incubation_id), frozenset({"incubating"}), "extend"
    )
    agreement = s.agreement
    assert agreement is not None
    assert s.started_on is not None
    found: list[RuleViolation] = []
    if command.term_end <= agreement.term_end:
        found.append(
            RuleViolation(
                "term_end_not_later",
                "term_end",
                "续驻期限应晚于原期限",
                "the new term end must be after the current one",
            )
        )
    found += rules.date_order(
        "extended_on",
        command.extended_on,
        agreement.term_end,
        "协议已到期，不能续驻",
        "the term already ended; extend before it",
    )
    found += rules.date_order(
        "extended_on",
        s.started_on,
        command.extended_on,
        "续签日期早于入驻",
        "extended before moving in",
    )
    reject_any(found)
    return IncubationExtended(
        incubation_id=s.incubation_id,
        base_id=s.base_id,
        uscc=s.uscc,
        agreement_id=command.agreement_id,
        previous_term_end=agreement.term_end,
        term_end=command.term_end,
        extended_on=command.extended_on,
    )


def record_support(
    state: Incubation | None, command: RecordSupport, situation: Situation
) -> SupportRecorded:
    """§1 support to a resident; funding needs its type and an exact amount, and no listing."""
    s = in_status(
        known_incubation(state, command.incubation_id), frozenset({"incubating"}), "record support"
    )
    assert s.started_on is not None
    found: list[RuleViolation] = []
    if command.support_type not in rules.SUPPORT_TYPES:
        found.append(
            RuleViolation(
                "support_type_unknown",
                "support_type",
                f"未知的扶持类型：{command.support_type}",
                f"unknown support type {command.support_type}",
            )
        )
    if command.support_type == "funding":
        if command.funding_type not in rules.FUNDING_TYPES:
            found.append(
                RuleViolation(
                    "funding_type_unknown",
                    "funding_type",
                    "资金类型缺失或未知",
                    "funding needs a known funding type",
                )
            )
        found += rules.money("amount_yuan", command.amount_yuan, required=True)
        found += rules.not_listed(situation.agency)
    else:
        if command.funding_type is not None:
            found.append(
                RuleViolation(
                    "funding_type_not_funding",
                    "funding_type",
                    "非资金扶持不填资金类型",
                    "only funding has a funding type",
                )
            )
        found += rules.money("amount_yuan", command.amount_yuan, required=False)
    found += rules.text_present("description", command.description, "扶持内容")
    found += rules.date_order(
        "given_on",
        s.started_on,
        command.given_on,
        "扶持日期早于入驻",
        "support given before moving in",
    )
    reject_any(found)
    amount = None if command.amount_yuan is None else f"{command.amount_yuan:.2f}"
    return SupportRecorded(
        incubation_id=s.incubation_id,
        uscc=s.uscc,
        base_id=s.base_id,
        support_type=command.support_type,
        funding_type=command.funding_type,
        amount_yuan=amount,
        description=command.description,
        given_on=command.given_on,
    )


def graduate(
    state: Incubation | None, command: GraduateAgency, situation: Situation
) -> AgencyGraduated:
    """出壳 against the criteria version in force on the graduation day (configuration data)."""
    s = in_status(
        known_incubation(state, command.incubation_id), frozenset({"incubating"}), "graduate"
    )
    assert s.started_on is not None
    assert s.agreement is not None
    criteria = situation.criteria
    if criteria is None:
        raise InvalidTransition(
            "no_graduation_criteria",
            "出壳日期无生效的出壳标准",
            "no graduation criteria are in force on that day",
        )
    found: list[RuleViolation] = []
    for criterion in criteria.criteria:
        recorded = _recorded(criterion.id, situation.agency)
        if criterion.checked_by == "system":
            met = _system_check(criterion.id, s, situation)
        elif criterion.checked_by == "records" and recorded is not None:
            met = recorded  # the published facts decide, whatever the assessors marked
        else:
            met = command.assessment.get(criterion.id) is True
        if not met:
            found.append(
                RuleViolation(
                    f"criterion_not_met:{criterion.id}",
                    "assessment",
                    f"未达到出壳标准：{criterion.zh}",
                    f"graduation criterion not met: {criterion.en}",
                )
            )
    found += rules.not_listed(situation.agency)  # always, whatever the configured criteria say
    found += rules.registered(situation.agency)  # 注册协助: a group must be registered first
    found += rules.text_present("assessment_summary", command.assessment_summary, "出壳评估意见")
    found += rules.date_order(
        "graduated_on",
        s.started_on,
        command.graduated_on,
        "出壳日期早于入驻",
        "graduated before moving in",
    )
    reject_any(found)
    return AgencyGraduated(
        incubation_id=s.incubation_id,
        base_id=s.base_id,
        uscc=s.uscc,
        graduated_on=command.graduated_on,
        assessment_summary=command.assessment_summary,
        office_id=s.agreement.office_id,
        criteria_version=criteria.version,
    )


# The latest annual inspection passed: 合格, or filed in annual-report mode. 基本合格 is not 合格
# (the guidance's word is 年检合格; docs/incubation.md).
PASSING_INSPECTION = frozenset({"qualified", "filed"})


def _recorded(criterion: str, agency: KnownAgency | None) -> bool | None:
    """What the registry's and supervision's facts say of a criterion; None when unknown."""
    if agency is None:
        return None
    if criterion == "staff_ratio_met" and agency.staff is not None:
        full_time, qualified = agency.staff
        return qualified * 3 >= full_time  # guidance §2.2: a third or more qualified
    if criterion == "annual_inspection_passed" and agency.inspection is not None:
        return agency.inspection[1] in PASSING_INSPECTION
    return None


def _system_check(criterion: str, s: Incubation, situation: Situation) -> bool:
    agency = situation.agency
    if criterion == "registered_and_active":
        return agency is not None and agency.status == "active"
    if criterion == "not_listed":
        return agency is not None and not agency.lists
    if criterion == "funded_project":
        return s.funded_count > 0
    return False  # a system criterion this build cannot check is not met


def terminate(state: Incubation | None, command: TerminateIncubation) -> IncubationTerminated:
    """退驻 from an approval, a signed agreement or a running incubation; the place is freed."""
    s = in_status(known_incubation(state, command.incubation_id), HOLDING, "terminate")
    agreement = s.agreement
    found = rules.text_present("detail", command.detail, "退驻说明")
    if agreement is not None:
        found += rules.date_order(
            "terminated_on",
            agreement.signed_on,
            command.terminated_on,
            "退驻日期早于协议签订",
            "terminated before the agreement was signed",
        )
    if command.reason == "term_expired" and (
        agreement is None or command.terminated_on <= agreement.term_end
    ):
        term_end = agreement.term_end if agreement is not None else None
        found.append(
            RuleViolation(
                "term_not_expired",
                "reason",
                f"协议期限至{term_end}（含当日），尚未期满",
                f"the term runs to {term_end} inclusive",
            )
        )
    reject_any(found)
    return IncubationTerminated(
        incubation_id=s.incubation_id,
        base_id=s.base_id,
        uscc=s.uscc,
        office_id=agreement.office_id if agreement is not None else None,
        reason=command.reason,
        terminated_on=command.terminated_on,
        detail=command.detail,
    )


def link_identity(
    state: Incubation | None, command: LinkIncubationIdentity
) -> IncubationIdentityLinked:
    """注册协助: the group behind this incubation was registered; whatever its status (the
    history follows the agency), once, and only for the group it was under."""
    s = known_incubation(state, command.incubation_id)
    if s.uscc != command.provisional_id:
        raise InvalidTransition(
            "not_this_group",
            f"该入孵记录不属于筹备组{command.provisional_id}（当前为{s.uscc}）",
            f"incubation {s.incubation_id} is under {s.uscc}, not {command.provisional_id}",
        )
    return IncubationIdentityLinked(
        incubation_id=s.incubation_id,
        base_id=s.base_id,
        provisional_id=command.provisional_id,
        uscc=command.uscc,
        linked_on=command.linked_on,
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
