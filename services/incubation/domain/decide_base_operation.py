"""A running base: training delivered, the operation's evaluation (guidance §6.3), closure."""

from __future__ import annotations

from socialwork_contracts.incubation import (
    BaseClosed,
    BaseEvaluated,
    TrainingDelivered,
)

from servicekit.decisions import InvalidTransition, RuleViolation, reject_any
from services.incubation.domain import base_operations, rules
from services.incubation.domain.commands import (
    CloseBase,
    EvaluateBase,
    RecordTraining,
)
from services.incubation.domain.incubation_base import (
    IncubationBase,
    known_base,
    open_base,
)
from services.incubation.domain.situation import Situation


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
