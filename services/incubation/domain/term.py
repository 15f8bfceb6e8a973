"""The term of a stay and the two flags time alone raises (issue 11 §6; guidance §5.2).

- Default term: an agreement that names no end runs for the months in force on its signing day
  (reference_data/incubation_policy.json, default 12): from `term_start` (counted) to the day
  before the same date `months` later — 2023-07-03 + 12 months → last day 2024-07-02. A term is
  a contractual period, not a statutory deadline: its end does not move past a day off.
- 期满未续驻: a stay still incubating the day after its term end without an extension is flagged
  `IncubationTermOverrun` once per term end; the officer then graduates it or ends it
  (`term_expired`). An extension (续驻, `IncubationExtended`) is signed on or before the term end.
- 长期未开展活动: no activity recorded for the stay (move-in, support, professional services,
  extension) for the days in force on its last activity (default 90) is flagged
  `IncubationInactivityFlagged` on last activity + days, once per quiet spell.

Both flags are issued by the scheduled check with deterministic command ids and dated their day,
so a rerun or a replay records each once, on the same day.
"""

from __future__ import annotations

import datetime as dt

from socialwork_contracts.incubation import IncubationInactivityFlagged, IncubationTermOverrun
from socialwork_contracts.periods import add_months, day_after
from socialwork_contracts.reference import incubation_policy_on

from servicekit.decisions import InvalidTransition
from services.incubation.domain.commands import FlagInactivity, MarkTermOverrun, SignAgreement
from services.incubation.domain.incubation import Incubation, Status, in_status, known_incubation

INCUBATING: frozenset[Status] = frozenset({"incubating"})


def default_term_end(term_start: dt.date, signed_on: dt.date) -> tuple[dt.date, int]:
    """(last day, months) of the default term in force on the signing day."""
    months = incubation_policy_on(signed_on).term_months
    return add_months(term_start, months) - dt.timedelta(days=1), months


def agreed_term(command: SignAgreement) -> tuple[dt.date, int | None]:
    """The term end the parties named, else the default's (with its months)."""
    if command.term_end is not None:
        return command.term_end, None
    try:
        return default_term_end(command.term_start, command.signed_on)
    except (ValueError, OverflowError):  # beyond the calendar Python holds: refused as too early
        return command.term_start - dt.timedelta(days=1), None


def overrun_from(s: Incubation) -> dt.date | None:
    """The first day past the current term, None without an agreement."""
    return day_after(s.agreement.term_end) if s.agreement is not None else None


def inactive_from(s: Incubation) -> dt.date | None:
    """The day the current quiet spell reaches the days in force; None without activity."""
    if s.last_activity_on is None:
        return None
    return s.last_activity_on + dt.timedelta(days=inactive_days_on(s.last_activity_on))


def mark_overrun(state: Incubation | None, command: MarkTermOverrun) -> IncubationTermOverrun:
    s = in_status(known_incubation(state, command.incubation_id), INCUBATING, "flag overrun")
    first = overrun_from(s)
    assert s.agreement is not None  # incubating: signed
    assert first is not None
    if s.agreement.term_end in s.overruns:
        raise InvalidTransition(
            "already_overrun", "已记录期满未续驻", "the overrun of this term is already recorded"
        )
    if command.overrun_on < first:
        raise InvalidTransition(
            "term_not_over",
            f"协议期限至{s.agreement.term_end}（含当日），尚未期满",
            f"the term runs to {s.agreement.term_end} inclusive",
        )
    return IncubationTermOverrun(
        incubation_id=s.incubation_id,
        base_id=s.base_id,
        uscc=s.uscc,
        term_end=s.agreement.term_end,
        overrun_on=command.overrun_on,
    )


def flag_inactivity(
    state: Incubation | None, command: FlagInactivity
) -> IncubationInactivityFlagged:
    s = in_status(known_incubation(state, command.incubation_id), INCUBATING, "flag inactivity")
    due = inactive_from(s)
    assert s.last_activity_on is not None  # incubating: moved in
    assert due is not None
    if s.last_activity_on in s.quiet_spells:
        raise InvalidTransition(
            "already_inactive", "已记录长期未开展活动", "this quiet spell is already flagged"
        )
    if command.flagged_on < due:
        raise InvalidTransition(
            "not_yet_inactive",
            f"最近活动{s.last_activity_on}，{due}前不构成长期未开展活动",
            f"last activity {s.last_activity_on}: not inactive before {due}",
        )
    return IncubationInactivityFlagged(
        incubation_id=s.incubation_id,
        base_id=s.base_id,
        uscc=s.uscc,
        last_activity_on=s.last_activity_on,
        inactive_days=(due - s.last_activity_on).days,
        flagged_on=command.flagged_on,
    )


def inactive_days_on(last_activity_on: dt.date) -> int:
    """The days without activity that make a stay inactive, by the policy of its last day."""
    return incubation_policy_on(last_activity_on).inactivity_days
