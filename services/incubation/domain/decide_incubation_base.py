"""decide(state, command, situation) -> events for a base: pure (no clock, no ids, no I/O).

The decisions live by stage: setup, calls, operation; this module only says which.
"""

from __future__ import annotations

from typing import assert_never

from services.incubation.domain import base_operations
from services.incubation.domain.commands import (
    AdoptAdmissionStandard,
    BaseCommand,
    CloseBase,
    EstablishBase,
    EvaluateBase,
    PublishCall,
    RecordBaseFunding,
    RecordBaseStaff,
    RecordTraining,
    UpdateFacilities,
)
from services.incubation.domain.decide_base_calls import adopt_standard, publish_call
from services.incubation.domain.decide_base_operation import close, evaluate, record_training
from services.incubation.domain.decide_base_setup import establish, update_facilities
from services.incubation.domain.incubation_base import (
    BaseEvent,
    IncubationBase,
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
