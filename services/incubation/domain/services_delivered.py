"""Professional services delivered by a resident (提供专业服务情况, guidance §6.3).

The base records, for one incubated agency and a period, the projects it ran, the service hours
and the people served (人次). The half-year and year-end reports count them; a record's period lies
within one half-year so each report counts it whole, and within the stay (from move-in to its
end), since only then does the base answer for it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from socialwork_contracts.incubation import ProfessionalServicesRecorded

from servicekit.decisions import InvalidTransition, RuleViolation, reject_any
from services.incubation.domain import rules
from services.incubation.domain.commands import RecordProfessionalServices
from services.incubation.domain.incubation import (
    Incubation,
    Status,
    in_status,
    known_incubation,
)

# Recorded during the stay or after it (the base reports a quarter after it ends).
RECORDABLE: frozenset[Status] = frozenset({"incubating", "graduated", "terminated"})


def _half(day: dt.date) -> tuple[int, int]:
    return day.year, 1 if day.month <= 6 else 2


def record_services(
    state: Incubation | None, command: RecordProfessionalServices
) -> ProfessionalServicesRecorded:
    s = in_status(known_incubation(state, command.incubation_id), RECORDABLE, "record services")
    assert s.started_on is not None
    if command.record_id in s.service_records:
        raise InvalidTransition(
            "duplicate_services", "该服务记录已存在", f"record {command.record_id} exists"
        )
    found = rules.text_present("description", command.description, "服务内容")
    found += rules.date_order(
        "period_end", command.period_start, command.period_end, "服务期止早于起", "ends first"
    )
    found += rules.date_order(
        "period_start", s.started_on, command.period_start, "服务期早于入驻", "before move-in"
    )
    if s.ended_on is not None:
        found += rules.date_order(
            "period_end", command.period_end, s.ended_on, "服务期晚于出孵", "after the stay ended"
        )
    if _half(command.period_start) != _half(command.period_end):
        found.append(
            RuleViolation(
                "period_spans_half_years",
                "period_end",
                "服务期应在同一半年内（1–6月或7–12月），以便年中、年终报告完整统计",
                "the period must lie within one half-year (Jan–Jun or Jul–Dec)",
            )
        )
    found += _counts(command)
    reject_any(found)
    return ProfessionalServicesRecorded(
        incubation_id=s.incubation_id,
        base_id=s.base_id,
        uscc=s.uscc,
        record_id=command.record_id,
        period_start=command.period_start,
        period_end=command.period_end,
        projects=command.projects,
        service_hours=f"{command.service_hours.normalize():f}",
        beneficiaries=command.beneficiaries,
        description=command.description,
    )


def _counts(command: RecordProfessionalServices) -> list[RuleViolation]:
    exponent = command.service_hours.as_tuple().exponent
    hours_ok = command.service_hours >= 0 and isinstance(exponent, int) and exponent >= -2
    some = command.projects or command.beneficiaries or command.service_hours > Decimal(0)
    if command.projects >= 0 and command.beneficiaries >= 0 and hours_ok and some:
        return []
    return [
        RuleViolation(
            "services_counts_invalid",
            "projects",
            "项目数、服务时长、服务人次不能为负（时长最多两位小数），且不能全为0",
            "projects, hours and beneficiaries are >= 0 (hours 2 places), not all zero",
        )
    ]
