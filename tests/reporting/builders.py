"""Facts for the pure tests, built from the contract models."""

from __future__ import annotations

import datetime as dt
import itertools

from socialwork_contracts import incubation as inc
from socialwork_contracts import registry as reg
from socialwork_contracts.base import DomainEvent

from services.reporting.domain.facts import Fact, fact_of

_ids = itertools.count(1)
CST = dt.timezone(dt.timedelta(hours=8))


def fact(event: DomainEvent, day: dt.date, recorded: dt.date | None = None) -> Fact:
    occurred = dt.datetime.combine(day, dt.time(10), tzinfo=CST)
    recorded_at = dt.datetime.combine(recorded or day, dt.time(11), tzinfo=CST)
    stream = str(getattr(event, event.stream_field))
    return fact_of(f"e-{next(_ids)}", event, stream, occurred, recorded_at)


def agency(uscc: str, unit: str, day: dt.date, **extra: object) -> Fact:
    fields: dict[str, object] = {
        "uscc": uscc,
        "name": f"机构{uscc}",
        "kind": "service_agency",
        "reporting_unit": unit,
        "county_code": None,
        "address": "地址",
        "legal_representative": "张三",
        "charter_purpose": "p",
        "charter_scope": "s",
        "charter_method": "m",
        "full_time_staff": 3,
        "qualified_staff": 1,
        "service_fields": ["community_service"],
        "target_groups": ["elderly"],
        "priority": True,
        "registered_on": day,
        **extra,
    }
    return fact(reg.AgencyRegistered.model_validate(fields), day)


def base(base_id: str, unit: str, day: dt.date, *, offices: int = 3, level: str = "county") -> Fact:
    rooms = [
        inc.Office(office_id=str(i), area_m2="20.00", shared_room=i == 0) for i in range(offices)
    ]
    event = inc.BaseEstablished(
        base_id=base_id,
        name=f"基地{base_id}",
        level=level,  # type: ignore[arg-type]
        reporting_unit=unit,
        county_code=None,
        address="地址",
        supervising_department="民政局",
        operator="运营方",
        offices=rooms,
        has_desks_and_chairs=True,
        has_projector=True,
        fire_safety_compliant=True,
        established_on=day,
    )
    return fact(event, day)


def started(base_id: str, uscc: str, day: dt.date, *, local: bool = True) -> Fact:
    event = inc.IncubationStarted(
        incubation_id=f"inc-{base_id}-{uscc}",
        base_id=base_id,
        agreement_id="agr",
        uscc=uscc,
        office_id="1",
        term_start=day,
        term_end=day + dt.timedelta(days=364),
        started_on=day,
        local=local,
    )
    return fact(event, day)


def terminated(base_id: str, uscc: str, day: dt.date) -> Fact:
    event = inc.IncubationTerminated(
        incubation_id=f"inc-{base_id}-{uscc}",
        base_id=base_id,
        uscc=uscc,
        reason="voluntary",
        detail="机构申请退驻",
        terminated_on=day,
    )
    return fact(event, day)
