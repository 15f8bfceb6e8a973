"""The supervision events this domain decides and folds: the public contracts, as one union."""

from __future__ import annotations

from typing import TypeAlias

from socialwork_contracts.base import DomainEvent
from socialwork_contracts.supervision import (
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

SupervisionEvent: TypeAlias = (
    ViolationRecorded
    | RectificationOrdered
    | RectificationConfirmed
    | RectificationOverdue
    | AnnualReportOverdue
    | AnnualReportPreliminarilyReviewed
    | AnnualReportFiled
    | PenaltyImposed
    | AgencyListed
    | ListingClockRestarted
    | AgencyDelisted
    | AnnualInspectionConcluded
    | EvaluationGradeAwarded
    | CommendationRecorded
    | GovernmentProjectRecorded
    | ProjectPerformanceEvaluated
    | FollowUpEvaluationRecorded
)


def as_supervision_event(event: DomainEvent) -> SupervisionEvent:
    """Narrow a loaded event to a supervision event; TypeError for anything else."""
    if isinstance(event, SupervisionEvent):
        return event
    raise TypeError(f"not a supervision event: {event.type_key()}")
