"""Grades and the credit file's other records (guidance §6.2): commendations, government
projects, their performance, follow-up evaluations after graduation."""

from __future__ import annotations

from typing import TypeAlias, assert_never

from socialwork_contracts.base import DomainEvent
from socialwork_contracts.supervision import (
    CommendationRecorded,
    EvaluationGradeAwarded,
    FollowUpEvaluationRecorded,
    GovernmentProjectRecorded,
    ProjectPerformanceEvaluated,
)

from servicekit.decisions import RuleViolation, reject_any
from services.supervision.domain import inspection as inspection_rules
from services.supervision.domain.commands import (
    AwardEvaluationGrade,
    EvaluateProjectPerformance,
    KnownAgency,
    RecordCommendation,
    RecordFollowUpEvaluation,
    RecordGovernmentProject,
)
from services.supervision.domain.credit_file import CreditFile
from services.supervision.domain.guards import (
    known,
    new_id,
    not_before,
    required_text,
)

RecordCommand: TypeAlias = (
    AwardEvaluationGrade
    | RecordCommendation
    | RecordGovernmentProject
    | EvaluateProjectPerformance
    | RecordFollowUpEvaluation
)


def decide_record(
    state: CreditFile | None, command: RecordCommand, agency: KnownAgency | None
) -> list[DomainEvent]:
    """The event of a grade or another record of the credit file, for a known agency."""
    match command:
        case AwardEvaluationGrade():
            known(agency, command.uscc)
            return [award_grade(state, command)]
        case RecordCommendation():
            known(agency, command.uscc)
            return [record_commendation(state, command)]
        case RecordGovernmentProject():
            known(agency, command.uscc)
            return [record_project(state, command)]
        case EvaluateProjectPerformance():
            known(agency, command.uscc)
            return [evaluate_performance(state, command)]
        case RecordFollowUpEvaluation():
            return [record_follow_up(state, command, known(agency, command.uscc))]
        case _:
            assert_never(command)


def award_grade(state: CreditFile | None, command: AwardEvaluationGrade) -> EvaluationGradeAwarded:
    problems = new_id(state, "evaluation_id", command.evaluation_id)
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


def record_commendation(
    state: CreditFile | None, command: RecordCommendation
) -> CommendationRecorded:
    reject_any(
        new_id(state, "commendation_id", command.commendation_id)
        + required_text("title", command.title, "表彰名称")
        + required_text("awarding_body", command.awarding_body, "授予单位")
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
        new_id(state, "project_id", command.project_id)
        + required_text("name", command.name, "项目名称")
        + required_text("purchaser", command.purchaser, "购买主体")
        + not_before("end_on", command.end_on, command.start_on, "项目期限止")
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
        new_id(state, "evaluation_id", command.evaluation_id)
        + required_text("project_name", command.project_name, "项目名称")
        + required_text("evaluator", command.evaluator, "评价机构")
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
    problems = new_id(state, "evaluation_id", command.evaluation_id) + required_text(
        "findings", command.findings, "评估发现"
    )
    if agency.graduated_on is None:
        problems.append(
            RuleViolation("not_graduated", "uscc", "该机构尚未出壳", "the agency has not graduated")
        )
    else:
        problems += not_before(
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
