"""decide(state, command, agency) -> events: supervision decisions, pure (no clock, ids or I/O).

`agency` is what the service knows of the agency from the registry (None: unknown). Listings are
never typed in for grounds the facts already give: the decision that records a penalty, an
overdue rectification or an unfiled annual report emits the listing too.
"""

from __future__ import annotations

import datetime as dt
from typing import assert_never

from socialwork_contracts.base import DomainEvent
from socialwork_contracts.periods import UnknownCalendarYear
from socialwork_contracts.supervision import (
    VIOLATION_CATEGORIES,
    AgencyDelisted,
    AgencyListed,
    AnnualInspectionConcluded,
    AnnualReportFiled,
    AnnualReportOverdue,
    AnnualReportPreliminarilyReviewed,
    CommendationRecorded,
    EvaluationGradeAwarded,
    FollowUpEvaluationRecorded,
    GovernmentProjectRecorded,
    ListingClockRestarted,
    PenaltyImposed,
    ProjectPerformanceEvaluated,
    RectificationConfirmed,
    RectificationOrdered,
    RectificationOverdue,
    ViolationRecorded,
)

from servicekit.decisions import DomainRejected, InvalidTransition, RuleViolation, reject_any
from services.supervision.domain import inspection as inspection_rules
from services.supervision.domain import rules
from services.supervision.domain.commands import (
    AwardEvaluationGrade,
    ConcludeAnnualInspection,
    ConfirmRectification,
    DelistAgency,
    EscalateListing,
    EvaluateProjectPerformance,
    ExpireListing,
    FileAnnualReport,
    ImposePenalty,
    KnownAgency,
    ListAgency,
    ListForRegistrationSanction,
    MarkAnnualReportOverdue,
    MarkRectificationOverdue,
    OrderRectification,
    RecordCommendation,
    RecordFollowUpEvaluation,
    RecordGovernmentProject,
    RecordSponsorReview,
    RecordViolation,
    SupervisionCommand,
)
from services.supervision.domain.credit_file import CreditFile, Listing, Rectification, evolve
from services.supervision.domain.periods import last_day, overdue_from
from services.supervision.domain.policy import credit_policy

GROUNDS_BASIS = {
    "abnormal": "《社会组织信用信息管理办法》活动异常名录列入情形",
    "serious": "《社会组织信用信息管理办法》严重违法失信名单列入情形",
}


def decide(
    state: CreditFile | None, command: SupervisionCommand, agency: KnownAgency | None
) -> list[DomainEvent]:
    """The events a command produces; DomainRejected or InvalidTransition when refused."""
    match command:
        case RecordViolation():
            return [record_violation(state, command, _known(agency, command.uscc))]
        case OrderRectification():
            return [order_rectification(_file(state, command.uscc), command)]
        case ConfirmRectification():
            return confirm_rectification(_file(state, command.uscc), command)
        case ImposePenalty():
            _known(agency, command.uscc)
            return impose_penalty(state, command)
        case ConcludeAnnualInspection():
            return conclude_inspection(state, command, _known(agency, command.uscc))
        case AwardEvaluationGrade():
            _known(agency, command.uscc)
            return [award_grade(state, command)]
        case RecordCommendation():
            _known(agency, command.uscc)
            return [record_commendation(state, command)]
        case RecordGovernmentProject():
            _known(agency, command.uscc)
            return [record_project(state, command)]
        case EvaluateProjectPerformance():
            _known(agency, command.uscc)
            return [evaluate_performance(state, command)]
        case RecordFollowUpEvaluation():
            return [record_follow_up(state, command, _known(agency, command.uscc))]
        case ListAgency():
            _known(agency, command.uscc)
            return list_by_hand(state, command)
        case DelistAgency():
            return [delist_by_decision(_file(state, command.uscc), command)]
        case MarkRectificationOverdue():
            return mark_overdue(_file(state, command.uscc), command)
        case ExpireListing():
            return [expire(_file(state, command.uscc), command)]
        case EscalateListing():
            return escalate(_file(state, command.uscc), command)
        case ListForRegistrationSanction():
            return list_for_sanction(state, command)
        case MarkAnnualReportOverdue():
            return mark_report_overdue(state, command, _known(agency, command.uscc))
        case RecordSponsorReview():
            return [record_sponsor_review(state, command, _known(agency, command.uscc))]
        case FileAnnualReport():
            return [file_report(state, command, _known(agency, command.uscc))]
        case _:
            assert_never(command)


# -- guards ---------------------------------------------------------------------------------


def agency_not_found(uscc: str) -> InvalidTransition:
    """The refusal for an agency supervision has not learnt of from the registry (404)."""
    return InvalidTransition(
        "agency_not_found",
        f"未找到统一社会信用代码为{uscc}的机构",
        f"no agency with credit code {uscc} is known to supervision",
    )


def _known(agency: KnownAgency | None, uscc: str) -> KnownAgency:
    if agency is None:
        raise agency_not_found(uscc)
    return agency


def _file(state: CreditFile | None, uscc: str) -> CreditFile:
    if state is None:
        raise InvalidTransition(
            "credit_file_not_found",
            f"机构{uscc}尚无诚信档案记录",
            f"the credit file of {uscc} has no records yet",
        )
    return state


def _new_id(state: CreditFile | None, field: str, value: str) -> list[RuleViolation]:
    if state is not None and state.has_id(value):
        return [RuleViolation("duplicate_id", field, f"编号{value}已被使用", f"{value} is used")]
    if not value.strip():
        return [RuleViolation("required", field, "编号不能为空", "an id is required")]
    return []


def _text(field: str, value: str | None, zh: str) -> list[RuleViolation]:
    if value is None or not value.strip():
        return [RuleViolation("required", field, f"{zh}不能为空", f"{field} is required")]
    return []


def _not_before(field: str, day: dt.date, earliest: dt.date, zh: str) -> list[RuleViolation]:
    if day < earliest:
        return [
            RuleViolation(
                "date_too_early", field, f"{zh}不能早于{earliest}", f"{field} before {earliest}"
            )
        ]
    return []


def _rectification(file: CreditFile, rectification_id: str) -> Rectification:
    found = file.rectification(rectification_id)
    if found is None:
        raise InvalidTransition(
            "rectification_not_found",
            f"未找到整改记录{rectification_id}",
            f"no rectification {rectification_id} in this credit file",
        )
    return found


def _listing(file: CreditFile, listing_id: str) -> Listing:
    found = file.listing(listing_id)
    if found is None or not found.is_open:
        raise InvalidTransition(
            "listing_not_found",
            f"未找到在列的名录记录{listing_id}",
            f"no open listing {listing_id} in this credit file",
        )
    return found


# -- violations and rectification -------------------------------------------------------------


def record_violation(
    state: CreditFile | None, command: RecordViolation, agency: KnownAgency
) -> ViolationRecorded:
    """guidance §6.2: a violation with its category, severity, facts and evidence."""
    category = (
        []
        if command.category in VIOLATION_CATEGORIES
        else [
            RuleViolation(
                "unknown_category", "category", "违规类别不存在", f"{command.category} is unknown"
            )
        ]
    )
    reject_any(
        _new_id(state, "violation_id", command.violation_id)
        + category
        + _text("facts", command.facts, "违规事实")
        + _text("evidence_ref", command.evidence_ref, "证据")
    )
    return ViolationRecorded(
        violation_id=command.violation_id,
        uscc=command.uscc,
        category=command.category,
        severity=command.severity,
        facts=command.facts,
        evidence_ref=command.evidence_ref,
        base_id=agency.base_id,
        found_on=command.found_on,
    )


def order_rectification(file: CreditFile, command: OrderRectification) -> RectificationOrdered:
    violation = file.violation(command.violation_id)
    if violation is None:
        raise InvalidTransition(
            "violation_not_found",
            f"未找到违规记录{command.violation_id}",
            f"no violation {command.violation_id} in this credit file",
        )
    if any(r.violation_id == violation.violation_id and r.unresolved for r in file.rectifications):
        raise InvalidTransition(
            "rectification_pending",
            "该违规已有未完成的整改",
            "an earlier rectification of this violation is still unresolved",
        )
    reject_any(
        _new_id(file, "rectification_id", command.rectification_id)
        + _text("requirements", command.requirements, "整改要求")
        + _not_before("ordered_on", command.ordered_on, violation.found_on, "下达日期")
        + _not_before("deadline", command.deadline, command.ordered_on, "整改期限")
    )
    return RectificationOrdered(
        rectification_id=command.rectification_id,
        uscc=command.uscc,
        violation_id=command.violation_id,
        requirements=command.requirements,
        deadline=command.deadline,
        document_number=command.document_number,
        ordered_on=command.ordered_on,
    )


def confirm_rectification(file: CreditFile, command: ConfirmRectification) -> list[DomainEvent]:
    """Verified rectification; a listing with nothing left to put right ends the same day."""
    rectification = _rectification(file, command.rectification_id)
    if rectification.status == "confirmed":
        raise InvalidTransition(
            "already_confirmed", "该整改已确认", "this rectification is already confirmed"
        )
    reject_any(
        _text("verification", command.verification, "核查意见")
        + _not_before("confirmed_on", command.confirmed_on, rectification.ordered_on, "确认日期")
    )
    confirmed = RectificationConfirmed(
        rectification_id=rectification.rectification_id,
        uscc=command.uscc,
        violation_id=rectification.violation_id,
        verification=command.verification,
        confirmed_on=command.confirmed_on,
    )
    return [confirmed, *_delist_if_rectified(file, rectification.rectification_id, confirmed)]


def _delist_if_rectified(
    file: CreditFile, cause_ref: str, fact: RectificationConfirmed | AnnualInspectionConcluded
) -> list[DomainEvent]:
    on = fact.confirmed_on if isinstance(fact, RectificationConfirmed) else fact.concluded_on
    after = evolve(file, fact)
    events: list[DomainEvent] = []
    for listing in after.listings:
        touched = any(c.cause_ref == cause_ref for c in listing.causes)
        if touched and rules.exit_on_verification(listing, on, credit_policy(on)):
            events.append(
                AgencyDelisted(
                    listing_id=listing.listing_id,
                    uscc=file.uscc,
                    list=listing.list,
                    reason="rectification_verified",
                    detail="整改核实后移出活动异常名录",
                    removed_on=on,
                )
            )
    return events


def mark_overdue(file: CreditFile, command: MarkRectificationOverdue) -> list[DomainEvent]:
    """Time alone: the deadline passed unverified -> overdue, and the abnormal list."""
    rectification = _rectification(file, command.rectification_id)
    if rectification.status != "open":
        raise InvalidTransition(
            "rectification_not_open",
            "该整改已确认或已逾期",
            f"the rectification is {rectification.status}",
        )
    overdue_on = overdue_from(rectification.deadline)
    if command.overdue_on != overdue_on:
        raise DomainRejected(
            [
                RuleViolation(
                    "not_overdue_on",
                    "overdue_on",
                    f"逾期日期应为{overdue_on}",
                    f"the rectification becomes overdue on {overdue_on}",
                )
            ]
        )
    overdue = RectificationOverdue(
        rectification_id=rectification.rectification_id,
        uscc=command.uscc,
        violation_id=rectification.violation_id,
        deadline=rectification.deadline,
        overdue_on=overdue_on,
    )
    ground = rules.ListingGround("abnormal", "rectification_overdue", "逾期未完成整改")
    return [
        overdue,
        *_enter(file, command.uscc, ground, rectification.rectification_id, overdue_on),
    ]


# -- penalties and listings -----------------------------------------------------------------


def impose_penalty(state: CreditFile | None, command: ImposePenalty) -> list[DomainEvent]:
    """A penalty, and the listings the facts give (domain.md: abnormal and serious grounds)."""
    problems = (
        _new_id(state, "penalty_id", command.penalty_id)
        + _text("document_number", command.document_number, "处罚决定书文号")
        + _text("legal_basis", command.legal_basis, "法律依据")
        + _text("deciding_department", command.deciding_department, "作出决定的机关")
    )
    money = command.kind in ("fine", "confiscation")
    if money and (command.amount_yuan is None or command.amount_yuan <= 0):
        problems.append(
            RuleViolation("amount_required", "amount_yuan", "罚没金额必填", "amount is required")
        )
    if not money and command.amount_yuan is not None:
        problems.append(
            RuleViolation("amount_not_allowed", "amount_yuan", "该处罚无金额", "no amount")
        )
    if command.kind == "suspension":
        if command.suspended_until is None or command.suspended_until < command.decided_on:
            problems.append(
                RuleViolation(
                    "suspension_period",
                    "suspended_until",
                    "限期停止活动须有截止日期且不早于决定日期",
                    "a suspension needs an end date on or after the decision",
                )
            )
    elif command.suspended_until is not None:
        problems.append(
            RuleViolation("until_not_allowed", "suspended_until", "仅停止活动有截止日期", "no end")
        )
    if command.violation_id is not None and (
        state is None or state.violation(command.violation_id) is None
    ):
        problems.append(
            RuleViolation("violation_not_found", "violation_id", "违规记录不存在", "no violation")
        )
    reject_any(problems)
    amount = command.amount_yuan
    penalty = PenaltyImposed(
        penalty_id=command.penalty_id,
        uscc=command.uscc,
        kind=command.kind,
        amount_yuan=f"{amount:.2f}" if amount is not None else None,
        suspended_until=command.suspended_until,
        violation_id=command.violation_id,
        document_number=command.document_number,
        legal_basis=command.legal_basis,
        deciding_department=command.deciding_department,
        decided_on=command.decided_on,
        reason=command.reason,
    )
    events: list[DomainEvent] = [penalty]
    policy = credit_policy(command.decided_on)
    for ground in rules.penalty_grounds(state, command.kind, amount, command.decided_on, policy):
        events += _enter(state, command.uscc, ground, command.penalty_id, command.decided_on)
    return events


def _enter(
    state: CreditFile | None,
    uscc: str,
    ground: rules.ListingGround,
    cause_ref: str,
    on: dt.date,
) -> list[DomainEvent]:
    """List the agency, or restart the clock of the listing it is already on (same list)."""
    current = state.open_listing(ground.list) if state is not None else None
    if current is not None:
        return [
            ListingClockRestarted(
                listing_id=current.listing_id,
                uscc=uscc,
                list=ground.list,
                ground=ground.ground,
                cause_ref=cause_ref,
                restarted_on=on,
            )
        ]
    return [
        AgencyListed(
            listing_id=rules.derived_listing_id(cause_ref, ground.list),
            uscc=uscc,
            list=ground.list,
            ground=ground.ground,
            detail=ground.detail,
            cause_ref=cause_ref,
            legal_basis=GROUNDS_BASIS[ground.list],
            listed_on=on,
        )
    ]


def list_for_sanction(
    state: CreditFile | None, command: ListForRegistrationSanction
) -> list[DomainEvent]:
    """A suspension or revocation the registry recorded: the listing a penalty here would give.

    The registry's echo of a penalty decided here (same kind, same decision document) is
    already listed by that penalty; it neither lists again nor restarts the clock.
    """
    penalties = state.penalties if state is not None else ()
    if command.decision_document is not None and any(
        p.kind == command.kind and p.document_number == command.decision_document for p in penalties
    ):
        raise InvalidTransition(
            "listed_by_penalty",
            "该处罚已在监管服务记录并列入名录",
            "the penalty recorded here already listed the agency",
        )
    ground = rules.SANCTION_GROUNDS[command.kind]
    return _enter(state, command.uscc, ground, command.cause_ref, command.decided_on)


def list_by_hand(state: CreditFile | None, command: ListAgency) -> list[DomainEvent]:
    """Grounds the facts here cannot give (unreachable, no Party organisation, court lists...)."""
    if command.ground not in rules.MANUAL_GROUNDS[command.list]:
        raise DomainRejected(
            [
                RuleViolation(
                    "ground_derived_or_unknown",
                    "ground",
                    "该事由由已记录的事实自动产生，或不存在，不能手工列入",
                    f"{command.ground} is derived from recorded facts or unknown",
                )
            ]
        )
    reject_any(
        _new_id(state, "listing_id", command.listing_id)
        + _text("detail", command.detail, "说明")
        + _text("legal_basis", command.legal_basis, "法律依据")
    )
    current = state.open_listing(command.list) if state is not None else None
    if current is not None:
        return [
            ListingClockRestarted(
                listing_id=current.listing_id,
                uscc=command.uscc,
                list=command.list,
                ground=command.ground,
                cause_ref=command.listing_id,
                restarted_on=command.listed_on,
            )
        ]
    return [
        AgencyListed(
            listing_id=command.listing_id,
            uscc=command.uscc,
            list=command.list,
            ground=command.ground,
            detail=command.detail,
            cause_ref=None,
            legal_basis=command.legal_basis,
            listed_on=command.listed_on,
        )
    ]


def delist_by_decision(file: CreditFile, command: DelistAgency) -> AgencyDelisted:
    """Exit by decision: verified rectification of a manual ground, 2 years on the serious list
    with no new ground (on application), deregistration after revocation, or withdrawal."""
    listing = _listing(file, command.listing_id)
    problems = _text("detail", command.detail, "说明") + _not_before(
        "removed_on", command.removed_on, listing.clock_from, "移出日期"
    )
    policy = credit_policy(command.removed_on)
    reason = command.reason
    if reason == "two_years_no_new_ground":
        eligible = rules.serious_exit_from(listing, policy)
        if eligible is None or command.removed_on < eligible:
            problems.append(
                RuleViolation(
                    "too_early_to_exit",
                    "removed_on",
                    f"须自{eligible}起方可申请移出严重违法失信名单",
                    f"the agency may apply to leave the serious list from {eligible}",
                )
            )
    elif reason == "deregistration_completed":
        if listing.list != "serious" or all(c.ground != "revoked" for c in listing.causes):
            problems.append(
                RuleViolation(
                    "not_revoked", "reason", "仅被撤销登记的机构注销后移出", "not a revocation"
                )
            )
    elif reason == "rectification_verified":
        manual = rules.MANUAL_GROUNDS["abnormal"]
        if listing.list != "abnormal" or any(
            c.needs_rectification and c.ground not in manual and not c.rectified
            for c in listing.causes
        ):
            problems.append(
                RuleViolation(
                    "rectification_recorded_elsewhere",
                    "reason",
                    "逾期整改或年报事由须通过确认整改或补报年报移出",
                    "confirm the rectification or file the report; the exit follows from it",
                )
            )
    reject_any(problems)
    return AgencyDelisted(
        listing_id=listing.listing_id,
        uscc=command.uscc,
        list=listing.list,
        reason=reason,
        detail=command.detail,
        removed_on=command.removed_on,
    )


def expire(file: CreditFile, command: ExpireListing) -> AgencyDelisted:
    """Time alone: 6 months on the abnormal list with nothing to put right."""
    listing = _listing(file, command.listing_id)
    due = rules.auto_exit_on(listing, credit_policy(listing.clock_from))
    if due is None or due != command.removed_on:
        raise InvalidTransition(
            "not_due", "该名录记录未到自动移出日期", f"the listing is not due to end on {due}"
        )
    return AgencyDelisted(
        listing_id=listing.listing_id,
        uscc=command.uscc,
        list=listing.list,
        reason="six_months_elapsed",
        detail="列入满6个月且无需整改，自动移出",
        removed_on=due,
    )


def escalate(file: CreditFile, command: EscalateListing) -> list[DomainEvent]:
    """Time alone: 2 full years on the abnormal list -> the serious list."""
    listing = _listing(file, command.listing_id)
    due = rules.escalation_on(listing, credit_policy(listing.clock_from))
    if due is None or due != command.escalated_on:
        raise InvalidTransition(
            "not_due", "该名录记录未到转入日期", f"the listing is not due to escalate on {due}"
        )
    delisted = AgencyDelisted(
        listing_id=listing.listing_id,
        uscc=command.uscc,
        list="abnormal",
        reason="escalated_to_serious",
        detail="列入活动异常名录满2年，转入严重违法失信名单",
        removed_on=due,
    )
    ground = rules.ListingGround("serious", "abnormal_two_years", "列入活动异常名录满2年")
    return [delisted, *_enter(file, command.uscc, ground, listing.listing_id, due)]


# -- annual inspection and grades -----------------------------------------------------------


def conclude_inspection(
    state: CreditFile | None, command: ConcludeAnnualInspection, agency: KnownAgency
) -> list[DomainEvent]:
    policy = inspection_rules.year_policy(command.year)
    problems = _new_id(state, "inspection_id", command.inspection_id)
    if command.conclusion not in inspection_rules.CONCLUSIONS_BY_MODE[policy.mode]:
        problems.append(
            RuleViolation(
                "conclusion_not_in_mode",
                "conclusion",
                f"{command.year}年度适用{policy.mode}模式，结论不符",
                f"year {command.year} uses the {policy.mode} mode",
            )
        )
    if inspection_rules.exempt(agency.registered_on, command.year, policy):
        problems.append(
            RuleViolation(
                "exempt_year",
                "year",
                "登记不满6个月的年度免于年检",
                "registered less than six months before 31 December: exempt that year",
            )
        )
    if command.concluded_on.year <= command.year - 1:
        problems.append(
            RuleViolation("date_too_early", "concluded_on", "结论日期早于年度", "before the year")
        )
    earlier = [i for i in (state.inspections if state else ()) if i.year == command.year]
    if earlier and earlier[-1].conclusion != "not_filed":
        problems.append(
            RuleViolation("already_concluded", "year", "该年度已有结论", "year already concluded")
        )
    reject_any(problems)
    concluded = AnnualInspectionConcluded(
        inspection_id=command.inspection_id,
        uscc=command.uscc,
        year=command.year,
        conclusion=command.conclusion,
        remarks=command.remarks,
        concluded_on=command.concluded_on,
    )
    events: list[DomainEvent] = [concluded]
    if command.conclusion == "not_filed":
        ground = rules.ListingGround(
            "abnormal", "annual_report_not_filed", "未按时报送年度工作报告"
        )
        events += _enter(state, command.uscc, ground, command.inspection_id, command.concluded_on)
    elif earlier and state is not None:
        events += _delist_if_rectified(state, earlier[-1].inspection_id, concluded)
    elif state is not None and command.year in state.overdue_reports:
        cause = inspection_rules.report_cause(command.uscc, command.year)
        events += _delist_if_rectified(state, cause, concluded)
    return events


def mark_report_overdue(
    state: CreditFile | None, command: MarkAnnualReportOverdue, agency: KnownAgency
) -> list[DomainEvent]:
    """Time alone: no report of the working year by its deadline -> the abnormal list
    (ground `annual_report_not_filed`), whichever annual mode applies that year."""
    year = command.year
    policy = inspection_rules.year_policy(year)
    if not policy.clock_lists_missing_report:
        raise InvalidTransition(
            "clock_not_in_force",
            f"{year}年度的年报逾期不由系统自动列入",
            f"the clock does not list a missing report of {year} (recorded by hand then)",
        )
    file = state or CreditFile(uscc=command.uscc)
    if inspection_rules.exempt(agency.registered_on, year, policy):
        raise InvalidTransition("exempt_year", "该年度免于年检", f"exempt for {year}")
    if (
        any(i.year == year for i in file.inspections)
        or year in file.overdue_reports
        or file.filed_in_time(year)  # filed by the deadline: nothing is missing
    ):
        raise InvalidTransition(
            "report_recorded", "该年度已有结论或已逾期", f"{year} already concluded or overdue"
        )
    deadline = last_day(inspection_rules.filing_deadline(year, policy))
    if command.overdue_on != overdue_from(deadline):
        raise DomainRejected(
            [
                RuleViolation(
                    "not_overdue_on",
                    "overdue_on",
                    f"逾期日期应为{overdue_from(deadline)}",
                    f"the report becomes overdue on {overdue_from(deadline)}",
                )
            ]
        )
    overdue = AnnualReportOverdue(
        uscc=command.uscc, year=year, deadline=deadline, overdue_on=command.overdue_on
    )
    ground = rules.ListingGround("abnormal", "annual_report_not_filed", "未按时报送年度工作报告")
    cause = inspection_rules.report_cause(command.uscc, year)
    return [overdue, *_enter(state, command.uscc, ground, cause, command.overdue_on)]


def _cycle_checks(
    state: CreditFile | None, uscc: str, year: int, day: dt.date, agency: KnownAgency
) -> list[RuleViolation]:
    problems: list[RuleViolation] = []
    policy = inspection_rules.year_policy(year)
    if inspection_rules.exempt(agency.registered_on, year, policy):
        problems.append(
            RuleViolation(
                "exempt_year",
                "year",
                "登记不满6个月的年度免于年检",
                "registered less than six months before 31 December: exempt that year",
            )
        )
    if day.year <= year:
        problems.append(
            RuleViolation("date_too_early", "year", "日期应在该年度之后", "after the working year")
        )
    return problems


def _deadline(deadline: dt.date) -> dt.date:
    """The inclusive deadline moved past a day off (§203); UnknownCalendarYear → 422."""
    try:
        return last_day(deadline)
    except UnknownCalendarYear as exc:
        raise DomainRejected(
            [RuleViolation("calendar_unknown", "year", exc.message_zh, str(exc))]
        ) from exc


def record_sponsor_review(
    state: CreditFile | None, command: RecordSponsorReview, agency: KnownAgency
) -> AnnualReportPreliminarilyReviewed:
    """业务主管单位初审 of a working year's report: once; late when after the deadline."""
    file = state or CreditFile(uscc=command.uscc)
    problems = _cycle_checks(state, command.uscc, command.year, command.reviewed_on, agency)
    problems += _text("sponsor", command.sponsor, "业务主管单位")
    problems += _text("opinion", command.opinion, "初审意见")
    if file.sponsor_reviewed(command.year) is not None:
        problems.append(
            RuleViolation("already_reviewed", "year", "该年度已有初审", "already reviewed")
        )
    reject_any(problems)
    policy = inspection_rules.year_policy(command.year)
    deadline = _deadline(inspection_rules.sponsor_review_deadline(command.year, policy))
    return AnnualReportPreliminarilyReviewed(
        uscc=command.uscc,
        year=command.year,
        sponsor=command.sponsor,
        opinion=command.opinion,
        reviewed_on=command.reviewed_on,
        deadline=deadline,
        late=command.reviewed_on > deadline,
    )


def file_report(
    state: CreditFile | None, command: FileAnnualReport, agency: KnownAgency
) -> AnnualReportFiled:
    """报送: the report reached civil affairs; once; late when after the deadline (a report
    filed before the deadline keeps the clock from listing the agency)."""
    file = state or CreditFile(uscc=command.uscc)
    problems = _cycle_checks(state, command.uscc, command.year, command.filed_on, agency)
    if file.filed(command.year) is not None:
        problems.append(RuleViolation("already_filed", "year", "该年度已报送", "already filed"))
    reject_any(problems)
    policy = inspection_rules.year_policy(command.year)
    deadline = _deadline(inspection_rules.filing_deadline(command.year, policy))
    return AnnualReportFiled(
        uscc=command.uscc,
        year=command.year,
        filed_on=command.filed_on,
        deadline=deadline,
        late=command.filed_on > deadline,
    )


def award_grade(state: CreditFile | None, command: AwardEvaluationGrade) -> EvaluationGradeAwarded:
    problems = _new_id(state, "evaluation_id", command.evaluation_id)
    if not 1 <= command.grade <= 5:
        problems.append(RuleViolation("grade_range", "grade", "等级为1A至5A", "grade is 1..5"))
    reject_any(problems)
    valid_from, valid_to = inspection_rules.grade_validity(command.announced_on)
    return EvaluationGradeAwarded(
        evaluation_id=command.evaluation_id,
        uscc=command.uscc,
        grade=command.grade,
        announced_on=command.announced_on,
        valid_from=valid_from,
        valid_to=valid_to,
    )


# -- other credit-file records (credit file "other": commendations, projects; guidance §6.2) --


def record_commendation(
    state: CreditFile | None, command: RecordCommendation
) -> CommendationRecorded:
    reject_any(
        _new_id(state, "commendation_id", command.commendation_id)
        + _text("title", command.title, "表彰名称")
        + _text("awarding_body", command.awarding_body, "授予单位")
    )
    return CommendationRecorded(
        commendation_id=command.commendation_id,
        uscc=command.uscc,
        title=command.title,
        awarding_body=command.awarding_body,
        document_number=command.document_number,
        awarded_on=command.awarded_on,
    )


def record_project(
    state: CreditFile | None, command: RecordGovernmentProject
) -> GovernmentProjectRecorded:
    reject_any(
        _new_id(state, "project_id", command.project_id)
        + _text("name", command.name, "项目名称")
        + _text("purchaser", command.purchaser, "购买主体")
        + _not_before("end_on", command.end_on, command.start_on, "项目期限止")
    )
    return GovernmentProjectRecorded(
        project_id=command.project_id,
        uscc=command.uscc,
        name=command.name,
        purchaser=command.purchaser,
        amount_yuan=f"{command.amount_yuan:.2f}",
        start_on=command.start_on,
        end_on=command.end_on,
    )


def evaluate_performance(
    state: CreditFile | None, command: EvaluateProjectPerformance
) -> ProjectPerformanceEvaluated:
    problems = (
        _new_id(state, "evaluation_id", command.evaluation_id)
        + _text("project_name", command.project_name, "项目名称")
        + _text("evaluator", command.evaluator, "评价机构")
    )
    if command.project_id is not None and (
        state is None or all(p.project_id != command.project_id for p in state.projects)
    ):
        problems.append(
            RuleViolation("project_not_found", "project_id", "项目不存在", "no such project")
        )
    reject_any(problems)
    return ProjectPerformanceEvaluated(
        evaluation_id=command.evaluation_id,
        uscc=command.uscc,
        project_id=command.project_id,
        project_name=command.project_name,
        score=f"{command.score.normalize():f}",
        conclusion=command.conclusion,
        evaluator=command.evaluator,
        evaluated_on=command.evaluated_on,
    )


def record_follow_up(
    state: CreditFile | None, command: RecordFollowUpEvaluation, agency: KnownAgency
) -> FollowUpEvaluationRecorded:
    """guidance §6.2: after incubation, follow-up evaluations of graduated agencies."""
    problems = _new_id(state, "evaluation_id", command.evaluation_id) + _text(
        "findings", command.findings, "评估发现"
    )
    if agency.graduated_on is None:
        problems.append(
            RuleViolation("not_graduated", "uscc", "该机构尚未出壳", "the agency has not graduated")
        )
    else:
        problems += _not_before(
            "evaluated_on", command.evaluated_on, agency.graduated_on, "评估日期"
        )
    reject_any(problems)
    return FollowUpEvaluationRecorded(
        evaluation_id=command.evaluation_id,
        uscc=command.uscc,
        base_id=agency.graduated_from,
        findings=command.findings,
        conclusion=command.conclusion,
        evaluated_on=command.evaluated_on,
    )
