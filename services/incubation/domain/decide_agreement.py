"""The agreement (guidance §5.3) and the stay it allows: signing, moving in, extending."""

from __future__ import annotations

import datetime as dt
from typing import TypeAlias, assert_never

from socialwork_contracts.incubation import (
    AGREEMENT_OBLIGATIONS,
    AgreementSigned,
    IncubationExtended,
    IncubationStarted,
)

from servicekit.decisions import RuleViolation, reject_any, violation_if
from services.incubation.domain import rules, term
from services.incubation.domain.commands import (
    ExtendIncubation,
    SignAgreement,
    StartIncubation,
)
from services.incubation.domain.incubation import (
    Incubation,
    IncubationEvent,
    in_status,
    known_incubation,
)
from services.incubation.domain.incubation_base import IncubationBase, open_base
from services.incubation.domain.situation import Situation

AgreementCommand: TypeAlias = SignAgreement | StartIncubation | ExtendIncubation


def decide_agreement(
    state: Incubation | None, command: AgreementCommand, situation: Situation
) -> list[IncubationEvent]:
    """The event of the agreement's signing, the move-in or an extension."""
    match command:
        case SignAgreement():
            return [sign(state, command, situation)]
        case StartIncubation():
            return [start(state, command, situation)]
        case ExtendIncubation():
            return [extend(state, command)]
        case _:
            assert_never(command)


def sign(state: Incubation | None, command: SignAgreement, situation: Situation) -> AgreementSigned:
    """§5.3 agreement: one free allottable office; term starts no earlier than signing and ends
    no earlier than it starts (both ends inclusive: a one-day term is start == end)."""
    s = in_status(known_incubation(state, command.incubation_id), frozenset({"approved"}), "sign")
    term_end, default_months = term.agreed_term(command)  # default term when none was named
    base = open_base(situation.base, s.base_id)
    found = rules.agency_admissible(situation.agency, s.uscc)  # revoked or listed since approval
    found += _office_free(base, command.office_id, situation)
    found += _term_in_order(s, command, term_end)
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


def _office_free(base: IncubationBase, office_id: str, situation: Situation) -> list[RuleViolation]:
    """One agency per office, and only an office that may be given to one (§5.3)."""
    room = base.room(office_id)
    if room is None or room not in rules.allottable_offices(base.facilities):
        return [
            RuleViolation(
                "office_not_allottable",
                "office_id",
                f"办公室{office_id}不存在或不可分配（共用会议室或不足15m²）",
                f"office {office_id} does not exist or cannot be given to one agency",
            )
        ]
    return violation_if(
        office_id in situation.occupied_offices,
        "office_occupied",
        "office_id",
        f"办公室{office_id}已分配给其他机构（一室一机构）",
        f"office {office_id} is already assigned (one agency per office)",
    )


def _term_in_order(s: Incubation, command: SignAgreement, term_end: dt.date) -> list[RuleViolation]:
    """Approved ≤ signed ≤ term start ≤ term end (the default term's end when none was named)."""
    return (
        rules.date_order(
            "term_start",
            command.signed_on,
            command.term_start,
            "协议不能早于签订日期开始",
            "the agreement cannot start before it is signed",
        )
        + rules.date_order(
            "term_end",
            command.term_start,
            term_end,
            "协议不能在开始前结束",
            "the agreement cannot end before it starts",
        )
        + rules.date_order(
            "signed_on",
            s.decided_on or s.submitted_on,
            command.signed_on,
            "签订日期早于批准日期",
            "signed before the approval",
        )
    )
