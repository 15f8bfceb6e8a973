"""decide(state, command, situation) -> events for an incubation: pure (no clock, no ids, no I/O).

Each lifecycle stage decides in its own module (application, admission, agreement, support,
exit); this one only says which.

The invariants of issue #3, each enforced here and tested in tests/incubation:
one agency per office; an agency in at most one incubation at a time; no admission beyond the
offices available (nor the call's places); no admission of an agency that is not registered and
active; no admission, funding or graduation of an agency on a credit list; an agreement cannot
start before it is signed nor end before it starts.
"""

from __future__ import annotations

from typing import assert_never

from services.incubation.domain import services_delivered, term
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
from services.incubation.domain.decide_admission import decide_admission
from services.incubation.domain.decide_agreement import decide_agreement
from services.incubation.domain.decide_application import decide_application
from services.incubation.domain.decide_exit import decide_exit
from services.incubation.domain.decide_support import record_support
from services.incubation.domain.incubation import (
    Incubation,
    IncubationEvent,
)
from services.incubation.domain.situation import Situation


def decide_incubation(
    state: Incubation | None, command: IncubationCommand, situation: Situation
) -> list[IncubationEvent]:
    """The events an incubation command produces; DomainRejected or InvalidTransition."""
    match command:
        case (
            SubmitApplication()
            | ReviewApplication()
            | OpenPublicNotice()
            | RecordAdmissionObjection()
        ):
            return decide_application(state, command, situation)
        case ApproveApplication() | RejectApplication():
            return decide_admission(state, command, situation)
        case SignAgreement() | StartIncubation() | ExtendIncubation():
            return decide_agreement(state, command, situation)
        case RecordSupport():
            return [record_support(state, command, situation)]
        case GraduateAgency() | TerminateIncubation() | LinkIncubationIdentity():
            return decide_exit(state, command, situation)
        case RecordProfessionalServices():
            return [services_delivered.record_services(state, command)]
        case MarkTermOverrun():
            return [term.mark_overrun(state, command)]
        case FlagInactivity():
            return [term.flag_inactivity(state, command)]
        case _:
            assert_never(command)
