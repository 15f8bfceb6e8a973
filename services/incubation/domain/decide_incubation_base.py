"""decide(state, command, situation) -> events for a base: pure (no clock, no ids, no I/O)."""

from __future__ import annotations

from typing import assert_never

from socialwork_contracts.incubation import (
    AdmissionStandardAdopted,
    BaseClosed,
    BaseEstablished,
    BaseEvaluated,
    BaseFacilitiesUpdated,
    CallPublished,
    Office,
    TrainingDelivered,
)
from socialwork_contracts.reference import county_code_of, locality

from servicekit.decisions import InvalidTransition, RuleViolation, reject_any
from services.incubation.domain import base_operations, rules
from services.incubation.domain.commands import (
    AdoptAdmissionStandard,
    BaseCommand,
    CloseBase,
    EstablishBase,
    EvaluateBase,
    OfficeSpec,
    PublishCall,
    RecordBaseFunding,
    RecordBaseStaff,
    RecordTraining,
    UpdateFacilities,
)
from services.incubation.domain.incubation_base import (
    BaseEvent,
    IncubationBase,
    known_base,
    open_base,
)
from services.incubation.domain.situation import Situation


def decide_incubation_base(
    state: IncubationBase | None, command: BaseCommand, situation: Situation
) -> list[BaseEvent]:
    """The events a base command produces; DomainRejected or InvalidTransition if refused."""
    match command:
        case EstablishBase():
            return [establish(state, command)]
        case UpdateFacilities():
            return [update_facilities(state, command)]
        case AdoptAdmissionStandard():
            return [adopt_standard(state, command)]
        case PublishCall():
            return [publish_call(state, command)]
        case RecordTraining():
            return [record_training(state, command)]
        case EvaluateBase():
            return [evaluate(state, command, situation)]
        case CloseBase():
            return [close(state, command, situation)]
        case RecordBaseStaff():
            return [base_operations.record_staff(state, command)]
        case RecordBaseFunding():
            return [base_operations.record_funding(state, command)]
        case _:
            assert_never(command)


def _offices(specs: tuple[OfficeSpec, ...]) -> list[Office]:
    return [
        Office(office_id=o.office_id, area_m2=f"{o.area_m2:.2f}", shared_room=o.shared_room)
        for o in specs
    ]


def establish(state: IncubationBase | None, command: EstablishBase) -> BaseEstablished:
    """Record a base; a base below the hardware standard may be recorded (it cannot admit)."""
    if state is not None:
        raise InvalidTransition(
            "duplicate_base", "孵化基地已存在", f"base {command.base_id} exists"
        )
    reject_any(
        rules.text_present("name", command.name, "基地名称")
        + rules.text_present("address", command.address, "地址")
        + rules.text_present("supervising_department", command.supervising_department, "主管部门")
        + rules.text_present("operator", command.operator, "运营机构")
        + _unit_valid(command.reporting_unit, command)
        + rules.offices_well_formed(command.offices)
    )
    return BaseEstablished(
        base_id=command.base_id,
        name=command.name,
        level=command.level,
        reporting_unit=command.reporting_unit,
        county_code=county_code_of(command.reporting_unit),
        address=command.address,
        supervising_department=command.supervising_department,
        operator=command.operator,
        operator_uscc=command.operator_uscc,
        purchase_contract=command.purchase_contract,
        offices=_offices(command.offices),
        has_desks_and_chairs=command.has_desks_and_chairs,
        has_projector=command.has_projector,
        fire_safety_compliant=command.fire_safety_compliant,
        established_on=command.established_on,
    )


def _unit_valid(unit: str, command: EstablishBase) -> list[RuleViolation]:
    try:
        place = locality(unit)
    except KeyError:
        return [
            RuleViolation(
                "reporting_unit_unknown",
                "reporting_unit",
                f"未知的统计单位：{unit}",
                f"unknown reporting unit {unit}",
            )
        ]
    if place.valid_on(command.established_on):
        return []
    return [
        RuleViolation(
            "reporting_unit_not_valid",
            "reporting_unit",
            "统计单位在建成日期不存在",
            f"reporting unit {unit} does not exist on the establishment date",
        )
    ]


def update_facilities(
    state: IncubationBase | None, command: UpdateFacilities
) -> BaseFacilitiesUpdated:
    base = open_base(state, command.base_id)
    reject_any(
        rules.offices_well_formed(command.offices)
        + rules.date_order(
            "updated_on",
            base.established_on,
            command.updated_on,
            "变更日期早于建成日期",
            "update before the base was established",
        )
    )
    return BaseFacilitiesUpdated(
        base_id=base.base_id,
        offices=_offices(command.offices),
        has_desks_and_chairs=command.has_desks_and_chairs,
        has_projector=command.has_projector,
        fire_safety_compliant=command.fire_safety_compliant,
        updated_on=command.updated_on,
    )


def adopt_standard(
    state: IncubationBase | None, command: AdoptAdmissionStandard
) -> AdmissionStandardAdopted:
    """Versions go 1, 2, 3 …; each takes effect no earlier than the one before."""
    base = open_base(state, command.base_id)
    expected = len(base.standards) + 1
    found = rules.text_present("agreement_template", command.agreement_template, "协议书范本")
    if command.version != expected:
        found.append(
            RuleViolation(
                "standard_version_not_next",
                "version",
                f"标准版本应为{expected}",
                f"the next version is {expected}",
            )
        )
    if not [r for r in command.requirements if r.strip()]:
        found.append(
            RuleViolation(
                "requirements_missing",
                "requirements",
                "入孵标准不能为空",
                "at least one requirement",
            )
        )
    if base.standards and command.effective_from < base.standards[-1].effective_from:
        found.append(
            RuleViolation(
                "effective_from_too_early",
                "effective_from",
                "生效日期早于上一版本",
                "takes effect before the previous version",
            )
        )
    reject_any(found)
    return AdmissionStandardAdopted(
        base_id=base.base_id,
        version=command.version,
        requirements=list(command.requirements),
        agreement_template=command.agreement_template,
        effective_from=command.effective_from,
    )


def publish_call(state: IncubationBase | None, command: PublishCall) -> CallPublished:
    """guidance §5.2: a call needs an admission standard in force and a base up to standard."""
    base = open_base(state, command.base_id)
    if base.call(command.call_id) is not None:
        raise InvalidTransition(
            "duplicate_call", "申请通知已发布", f"call {command.call_id} exists"
        )
    found = rules.hardware_standard(base.facilities)
    found += rules.text_present("title", command.title, "通知标题")
    found += rules.date_order(
        "closes_on",
        command.opens_on,
        command.closes_on,
        "截止日期早于开始日期",
        "the call closes before it opens",
    )
    found += rules.date_order(
        "published_on",
        base.established_on,
        command.published_on,
        "发布日期早于基地建成",
        "published before the base was established",
    )
    standard = base.standard_on(command.opens_on)
    if standard is None:
        found.append(
            RuleViolation(
                "no_admission_standard",
                "opens_on",
                "开始受理时尚无生效的入孵申请标准",
                "no admission standard is in force when the call opens",
            )
        )
    allottable = len(rules.allottable_offices(base.facilities))
    if command.places < 1 or command.places > allottable:
        found.append(
            RuleViolation(
                "places_out_of_range",
                "places",
                f"名额应在1到{allottable}（可分配办公室数）之间",
                f"places must be between 1 and {allottable} (allottable offices)",
            )
        )
    reject_any(found)
    assert standard is not None
    return CallPublished(
        base_id=base.base_id,
        call_id=command.call_id,
        title=command.title,
        opens_on=command.opens_on,
        closes_on=command.closes_on,
        places=command.places,
        standard_version=standard.version,
        published_on=command.published_on,
    )


def record_training(state: IncubationBase | None, command: RecordTraining) -> TrainingDelivered:
    base = open_base(state, command.base_id)
    if command.session_id in base.training_sessions:
        raise InvalidTransition(
            "duplicate_training", "培训场次已记录", f"session {command.session_id} already recorded"
        )
    found = rules.text_present("title", command.title, "培训主题")
    if command.hours <= 0 or command.hours.as_tuple().exponent < -2:  # type: ignore[operator]
        found.append(
            RuleViolation(
                "hours_invalid",
                "hours",
                "培训时长应为正数且最多两位小数",
                "hours must be > 0 with at most 2 places",
            )
        )
    if command.attendees < 1:
        found.append(
            RuleViolation(
                "attendees_invalid", "attendees", "参训人次至少为1", "at least one attendee"
            )
        )
    found += rules.date_order(
        "held_on",
        base.established_on,
        command.held_on,
        "培训日期早于基地建成",
        "held before the base was established",
    )
    reject_any(found)
    return TrainingDelivered(
        base_id=base.base_id,
        session_id=command.session_id,
        title=command.title,
        held_on=command.held_on,
        hours=f"{command.hours.normalize():f}",
        attendees=command.attendees,
        agency_usccs=list(dict.fromkeys(command.agency_usccs)),
    )


def close(state: IncubationBase | None, command: CloseBase, situation: Situation) -> BaseClosed:
    """What happens to residents is explicit: each must graduate or be terminated first."""
    base = open_base(state, command.base_id)
    found = rules.text_present("reason", command.reason, "关闭原因")
    if situation.base_holding:
        found.append(
            RuleViolation(
                "base_has_residents",
                "base_id",
                f"基地仍有{situation.base_holding}家入孵或已批准机构，须先出壳或退驻",
                f"{situation.base_holding} agencies still hold places; graduate or "
                "terminate each first",
            )
        )
    found += rules.date_order(
        "closed_on",
        base.established_on,
        command.closed_on,
        "关闭日期早于建成日期",
        "closed before it was established",
    )
    reject_any(found)
    return BaseClosed(base_id=base.base_id, reason=command.reason, closed_on=command.closed_on)


def evaluate(
    state: IncubationBase | None, command: EvaluateBase, situation: Situation
) -> BaseEvaluated:
    """基地运行评估 (guidance §6.3): the period's figures as held, the evaluators' conclusion."""
    base = known_base(state, command.base_id)  # a closed base's last period may be evaluated
    if command.evaluation_id in base.evaluations:
        raise InvalidTransition(
            "duplicate_evaluation", "该评估已记录", f"evaluation {command.evaluation_id} exists"
        )
    found = rules.text_present("evaluator", command.evaluator, "评估单位")
    found += rules.date_order(
        "period_end",
        command.period_start,
        command.period_end,
        "评估期止早于起",
        "period ends first",
    )
    found += rules.date_order(
        "evaluated_on",
        command.period_end,
        command.evaluated_on,
        "评估日期早于评估期结束",
        "evaluated before the period ended",
    )
    found += rules.date_order(
        "period_end",
        base.established_on,
        command.period_end,
        "评估期在基地建成之前",
        "the period ends before the base was established",
    )
    reject_any(found)
    figures = situation.figures
    assert figures is not None, "the handler loads the period's figures"
    return BaseEvaluated(
        base_id=base.base_id,
        evaluation_id=command.evaluation_id,
        period_start=command.period_start,
        period_end=command.period_end,
        offices=len(rules.allottable_offices(base.facilities)),
        offices_occupied=figures.offices_occupied,
        incubations_started=figures.incubations_started,
        graduations=figures.graduations,
        terminations=figures.terminations,
        funding_yuan=figures.funding_yuan,
        training_sessions=figures.training_sessions,
        training_hours=figures.training_hours,
        training_attendees=figures.training_attendees,
        conclusion=command.conclusion,
        evaluator=command.evaluator,
        remarks=command.remarks,
        evaluated_on=command.evaluated_on,
        **base_operations.evaluation_figures(
            base, command.period_start, command.period_end, figures
        ),
    )
