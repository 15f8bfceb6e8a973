"""A group in preparation (筹备中) receiving registration assistance (注册协助, issue 11 §2).

The group has no credit code yet: it is known by a provisional id (a UUID) under which it may
apply, be admitted and be supported. When the registry registers it naming that id, the group is
linked to its credit code (`GroupRegistered`), and so is each of its incubations. A group not
registered within the months in force (dated policy below, default 6) is flagged once by the
scheduled check (`GroupRegistrationOverdue`); a later registration still links it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, replace
from typing import Literal, TypeAlias, assert_never

from socialwork_contracts.incubation import (
    GroupInPreparationRecorded,
    GroupRegistered,
    GroupRegistrationOverdue,
)
from socialwork_contracts.periods import add_months, day_after, last_day
from socialwork_contracts.reference import locality

from servicekit.decisions import (
    EventOutOfOrder,
    InvalidTransition,
    RuleViolation,
    present,
    reject_any,
)
from services.incubation.domain import rules
from services.incubation.domain.commands import (
    GroupCommand,
    MarkGroupRegistrationOverdue,
    RecordGroupInPreparation,
    RecordGroupRegistration,
)
from services.incubation.domain.incubation_base import IncubationBase, known_base

GroupEvent: TypeAlias = GroupInPreparationRecorded | GroupRegistrationOverdue | GroupRegistered
GroupStatus = Literal["preparing", "registered"]

# Months within which an assisted group should be registered, by the day it was taken on
# (dated configuration: a new row applies to groups taken on from its date; docs/incubation.md).
# The guidance is silent; six months is the bureau's working expectation for 注册协助.
REGISTRATION_MONTHS: tuple[tuple[dt.date, int], ...] = ((dt.date(2018, 1, 1), 6),)


def registration_months(recorded_on: dt.date) -> int:
    """The months in force on the day the group was taken on."""
    in_force = [months for since, months in REGISTRATION_MONTHS if since <= recorded_on]
    return in_force[-1] if in_force else REGISTRATION_MONTHS[0][1]


def register_by(recorded_on: dt.date) -> dt.date:
    """Last day (inclusive) to register: n months after it was taken on (Civil Code §202)."""
    return add_months(recorded_on, registration_months(recorded_on))


def overdue_from(deadline: dt.date) -> dt.date:
    """First overdue day: after the deadline, moved on past a day off (Civil Code §203).

    Raises `UnknownCalendarYear` when the working calendar lacks the year (never guessed)."""
    return day_after(last_day(deadline))


@dataclass(frozen=True, slots=True)
class Group:
    provisional_id: str
    base_id: str
    name: str
    reporting_unit: str
    recorded_on: dt.date
    register_by: dt.date
    status: GroupStatus = "preparing"
    overdue_on: dt.date | None = None
    uscc: str | None = None
    registered_on: dt.date | None = None


def evolve(state: Group | None, event: GroupEvent) -> Group:
    """Apply one group event; EventOutOfOrder when it cannot follow the state."""
    match event:
        case GroupInPreparationRecorded():
            if state is not None:
                raise EventOutOfOrder(f"group {event.provisional_id} already exists")
            return Group(
                provisional_id=event.provisional_id,
                base_id=event.base_id,
                name=event.name,
                reporting_unit=event.reporting_unit,
                recorded_on=event.recorded_on,
                register_by=event.register_by,
            )
        case GroupRegistrationOverdue():
            return replace(_existing(state, event), overdue_on=event.overdue_on)
        case GroupRegistered():
            return replace(
                _existing(state, event),
                status="registered",
                uscc=event.uscc,
                registered_on=event.registered_on,
            )
        case _:
            assert_never(event)


def _existing(state: Group | None, event: GroupEvent) -> Group:
    return present(state, EventOutOfOrder(f"{event.type_key()} before GroupInPreparationRecorded"))


def known_group(state: Group | None, provisional_id: str) -> Group:
    return present(
        state,
        InvalidTransition(
            "group_not_found",
            f"筹备组{provisional_id}不存在",
            f"no group in preparation with provisional id {provisional_id}",
        ),
    )


def decide_group(
    state: Group | None, command: GroupCommand, base: IncubationBase | None
) -> list[GroupEvent]:
    """The events a group command produces; DomainRejected or InvalidTransition."""
    match command:
        case RecordGroupInPreparation():
            return [record(state, command, base)]
        case MarkGroupRegistrationOverdue():
            return [mark_overdue(state, command)]
        case RecordGroupRegistration():
            return [registered(state, command)]
        case _:
            assert_never(command)


def record(
    state: Group | None, command: RecordGroupInPreparation, base: IncubationBase | None
) -> GroupInPreparationRecorded:
    """Take the group on at an open base; its deadline is fixed now (the policy of this day)."""
    if state is not None:
        raise InvalidTransition(
            "duplicate_group", "该筹备组已登记在案", f"group {command.provisional_id} exists"
        )
    found_base = known_base(base, command.base_id)
    if found_base.is_closed:
        raise InvalidTransition(
            "base_closed", "孵化基地已关闭", f"base {command.base_id} is closed"
        )
    try:
        deadline: dt.date | None = register_by(command.recorded_on)
    except (ValueError, OverflowError):  # a date Python's calendar cannot hold months after
        deadline = None
    reject_any(
        _uuid(command.provisional_id)
        + rules.text_present("name", command.name, "拟登记名称")
        + rules.text_present("contact_person", command.contact_person, "筹备负责人")
        + _unit(command.reporting_unit, command.recorded_on)
        + (
            []
            if deadline is not None
            else [
                RuleViolation(
                    "recorded_on_out_of_range", "recorded_on", "日期超出范围", "date out of range"
                )
            ]
        )
    )
    assert deadline is not None
    return GroupInPreparationRecorded(
        provisional_id=command.provisional_id,
        base_id=found_base.base_id,
        name=command.name,
        kind=command.kind,
        reporting_unit=command.reporting_unit,
        contact_person=command.contact_person,
        recorded_on=command.recorded_on,
        register_by=deadline,
    )


def mark_overdue(
    state: Group | None, command: MarkGroupRegistrationOverdue
) -> GroupRegistrationOverdue:
    """Once, for a group still in preparation, on or after its first overdue day."""
    group = known_group(state, command.provisional_id)
    if group.status == "registered":
        raise InvalidTransition("group_registered", "该筹备组已登记", "the group is registered")
    if group.overdue_on is not None:
        raise InvalidTransition(
            "already_overdue", "已记录逾期未登记", "the group is already flagged overdue"
        )
    first = overdue_from(group.register_by)
    if command.overdue_on < first:
        raise InvalidTransition(
            "not_yet_overdue",
            f"登记期限（{group.register_by}）尚未届满",
            f"the deadline {group.register_by} has not passed on {command.overdue_on}",
        )
    return GroupRegistrationOverdue(
        provisional_id=group.provisional_id,
        base_id=group.base_id,
        register_by=group.register_by,
        overdue_on=command.overdue_on,
    )


def registered(state: Group | None, command: RecordGroupRegistration) -> GroupRegistered:
    """The registry's registration names the group: linked once, to one credit code."""
    group = known_group(state, command.provisional_id)
    if group.status == "registered":
        raise InvalidTransition(
            "group_registered",
            f"该筹备组已登记为{group.uscc}",
            f"the group is already registered as {group.uscc}",
        )
    return GroupRegistered(
        provisional_id=group.provisional_id,
        base_id=group.base_id,
        uscc=command.uscc,
        registered_on=command.registered_on,
    )


def _uuid(provisional_id: str) -> list[RuleViolation]:
    try:
        if len(provisional_id) == 36 and uuid.UUID(provisional_id):
            return []
    except ValueError:
        pass
    return [
        RuleViolation(
            "provisional_id_format",
            "provisional_id",
            "临时标识应为UUID",
            "the provisional id must be a UUID",
        )
    ]


def _unit(unit: str, day: dt.date) -> list[RuleViolation]:
    try:
        valid = locality(unit).valid_on(day)
    except KeyError:
        valid = False
    if valid:
        return []
    return [
        RuleViolation(
            "reporting_unit_unknown",
            "reporting_unit",
            f"统计单位{unit}不存在或当日无效",
            f"unknown reporting unit {unit}, or not valid on {day}",
        )
    ]
