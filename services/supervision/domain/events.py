"""The supervision events this domain decides and folds: the public contracts, as one union."""

from __future__ import annotations

from collections.abc import Callable
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

from servicekit.decisions import event_narrowing

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


# Narrow a loaded event to a supervision event; TypeError for anything else.
as_supervision_event: Callable[[DomainEvent], SupervisionEvent] = event_narrowing(
    SupervisionEvent, "a supervision"
)
