"""The four targets of guidance §3, with what is met, what is missing and where."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from socialwork_contracts import reference

from services.reporting.domain.periods import within_one_year
from services.reporting.domain.reports import LIVE_STATUSES
from services.reporting.domain.state import AgencyView, BaseView, CityState, IncubationView

DISTRICT_DEADLINE = dt.date(2020, 12, 31)  # guidance §3: "到 2020 年"
COUNTY_DEADLINE = dt.date(2025, 12, 31)  # guidance §3: "到 2025 年"
CITY_AGENCY_TARGET = 100  # guidance §3: 全市社工机构达到 100 家
LOCAL_AGENCIES_PER_BASE = 3  # guidance §3: 一年内孵化本地机构 3 家以上
AIRPORT_ZONE = "hangkonggang"
SERVICE_AGENCY = "service_agency"  # 社工机构 = 民办社会工作服务机构; associations apart
CITY_LEVEL = "city"  # a base's level whose locality is the whole city (`_local`)
# Target 2: a stay that ended sooner than this after move-in was not an incubation. The
# guidance is silent; the value in force on the move-in day applies (docs/reporting.md).
MINIMUM_STAY_DAYS: tuple[tuple[dt.date, int], ...] = ((dt.date(2018, 1, 1), 30),)

Status = Literal["met", "missed", "in_progress"]


@dataclass(frozen=True)
class TargetOptions:
    # domain.md: whether the province-led airport zone counts for target 1 is configurable.
    count_airport_zone: bool = True


def _status(met: bool, as_of: dt.date, deadline: dt.date) -> Status:
    # As of the deadline day itself the target is judged (the year-end report's question).
    if met:
        return "met"
    return "missed" if as_of >= deadline else "in_progress"


def _operating_on(base: BaseView, day: dt.date) -> bool:
    return base.established_on <= day and (base.closed_on is None or base.closed_on > day)


@dataclass(frozen=True)
class TargetInputs:
    """What the targets read of the city as of a date: from a folded state (`target_inputs`)
    or from the versions holding at the cut-off (readmodel_places.target_inputs)."""

    # Live agencies on min(as_of, DISTRICT_DEADLINE): 社工机构, and all (associations too).
    city_live: tuple[int, int]
    # Live 社工机构 by reporting unit on min(as_of, COUNTY_DEADLINE).
    unit_live: Mapping[str, int]
    bases: Sequence[BaseView]  # every base
    # Stays, at least those that may count for target 2: started by as_of at a base within
    # its first year (`local_incubation` applies the predicates).
    stays: Sequence[IncubationView]


def target_inputs(state: CityState, as_of: dt.date) -> TargetInputs:
    """The targets' inputs of a state folded as of `as_of`."""
    district_day = min(as_of, DISTRICT_DEADLINE)
    live = [a for a in state.agencies.values() if _live_on(a, district_day)]
    county_day = min(as_of, COUNTY_DEADLINE)
    unit_live: dict[str, int] = {}
    for a in state.agencies.values():
        if a.kind == SERVICE_AGENCY and _live_on(a, county_day):
            unit_live[a.reporting_unit] = unit_live.get(a.reporting_unit, 0) + 1
    return TargetInputs(
        city_live=(sum(a.kind == SERVICE_AGENCY for a in live), len(live)),
        unit_live=unit_live,
        bases=list(state.bases.values()),
        stays=list(state.incubations.values()),
    )


def _unit_bases(bases: Iterable[BaseView], unit: str, day: dt.date) -> list[BaseView]:
    return [b for b in bases if b.reporting_unit == unit and _operating_on(b, day)]


def _unit_target(
    all_bases: Sequence[BaseView],
    units: list[reference.Locality],
    deadline: dt.date,
    as_of: dt.date,
) -> dict[str, Any]:
    day = min(as_of, deadline)
    rows = []
    for unit in units:
        bases = _unit_bases(all_bases, unit.id, day)
        rows.append(
            {
                "reporting_unit": unit.id,
                "unit_name": unit.name,
                "bases": len(bases),
                "first_established_on": min(b.established_on for b in bases).isoformat()
                if bases
                else None,
                "met": bool(bases),
            }
        )
    return _per_unit(rows, deadline, day, as_of)


def _per_unit(
    rows: list[dict[str, Any]], deadline: dt.date, day: dt.date, as_of: dt.date
) -> dict[str, Any]:
    """A per-unit target: every unit's row `met` by the deadline."""
    met = sum(1 for r in rows if r["met"])
    return {
        "deadline": deadline.isoformat(),
        "evaluated_on": day.isoformat(),
        "required": len(rows),
        "achieved": met,
        "status": _status(met == len(rows), as_of, deadline),
        "missing": [r["unit_name"] for r in rows if not r["met"]],
        "units": rows,
    }


def _live_on(agency: AgencyView, day: dt.date) -> bool:
    return agency.registered_on <= day and (
        agency.status in LIVE_STATUSES or agency.status_since > day
    )


def minimum_stay_days(moved_in: dt.date) -> int:
    in_force = [days for since, days in MINIMUM_STAY_DAYS if since <= moved_in]
    return in_force[-1] if in_force else MINIMUM_STAY_DAYS[0][1]


def _stayed(stay: IncubationView, as_of: dt.date) -> bool:
    """Not a stay that had already ended, by `as_of`, within the minimum after move-in."""
    ended = stay.graduated_on or stay.terminated_on
    if ended is None or ended > as_of:
        return True
    return (ended - stay.started_on).days >= minimum_stay_days(stay.started_on)


def _local(base: BaseView, stay: IncubationView) -> bool:
    """domain.md: a city-level base's locality is the whole city, any other base's its unit."""
    return base.level == CITY_LEVEL or stay.local


def base_local_agencies(state: CityState, as_of: dt.date) -> list[dict[str, Any]]:
    """Target 2 per base of a state folded as of `as_of` (`local_incubation`)."""
    return local_incubation(state.bases.values(), state.incubations.values(), as_of)


def local_incubation(
    bases: Iterable[BaseView], all_stays: Iterable[IncubationView], as_of: dt.date
) -> list[dict[str, Any]]:
    """Target 2 per base: local agencies that moved in within one year of its establishment
    and did not leave within the minimum stay."""
    stays: dict[str, list[IncubationView]] = {}  # by base: one pass, not bases × stays
    for stay in all_stays:
        if stay.started_on <= as_of:
            stays.setdefault(stay.base_id, []).append(stay)
    rows = []
    for base in sorted(bases, key=lambda b: (b.established_on, b.base_id)):
        if base.established_on > as_of:
            continue
        window = within_one_year(base.established_on)
        local = {
            i.uscc
            for i in stays.get(base.base_id, ())
            if _local(base, i) and window.contains(i.started_on) and _stayed(i, as_of)
        }
        met = len(local) >= LOCAL_AGENCIES_PER_BASE
        rows.append(
            {
                "base_id": base.base_id,
                "base_name": base.name,
                "reporting_unit": base.reporting_unit,
                "unit_name": _unit_name(base.reporting_unit),
                "established_on": base.established_on.isoformat(),
                "window_end": window.end.isoformat(),
                "local_agencies": len(local),
                "missing": max(0, LOCAL_AGENCIES_PER_BASE - len(local)),
                "status": _status(met, as_of, window.end),
            }
        )
    return rows


def _agency_coverage(
    live: Mapping[str, int], units: list[reference.Locality], deadline: dt.date, as_of: dt.date
) -> dict[str, Any]:
    """Target 4, second half: at least one live 社工机构 in every unit (not the same as a base)."""
    day = min(as_of, deadline)
    rows = [
        {
            "reporting_unit": u.id,
            "unit_name": u.name,
            "live_agencies": live.get(u.id, 0),
            "met": live.get(u.id, 0) > 0,
        }
        for u in units
    ]
    return _per_unit(rows, deadline, day, as_of)


def _unit_name(unit: str) -> str:
    try:
        return reference.locality(unit).name
    except KeyError:
        return unit


def targets(state: CityState, as_of: dt.date, options: TargetOptions) -> dict[str, Any]:
    """The target tracker as of a date (the state must be folded as of the same date)."""
    return tracker(target_inputs(state, as_of), as_of, options)


def tracker(inputs: TargetInputs, as_of: dt.date, options: TargetOptions) -> dict[str, Any]:
    """The target tracker as of a date from its inputs as of that date."""
    units = [u for u in reference.localities() if u.valid_on(as_of) or u.valid_to is None]
    district = [
        u
        for u in units
        if u.target == "district_zone" and (options.count_airport_zone or u.id != AIRPORT_ZONE)
    ]
    county = [u for u in units if u.target == "county"]
    coverage = _unit_target(inputs.bases, units, COUNTY_DEADLINE, as_of)
    return {
        "as_of": as_of.isoformat(),
        "options": {"count_airport_zone": options.count_airport_zone},
        "targets": [
            {
                "id": "district_bases",
                "title": "每个区（开发区）至少建立 1 个孵化基地（2020 年底）",
                **_unit_target(inputs.bases, district, DISTRICT_DEADLINE, as_of),
            },
            _base_local_target(local_incubation(inputs.bases, inputs.stays, as_of), as_of),
            _city_agencies_target(inputs.city_live, as_of),
            {
                "id": "county_bases",
                "title": "每个县（市）至少建立 1 个孵化基地（2025 年底）",
                **_unit_target(inputs.bases, county, COUNTY_DEADLINE, as_of),
            },
            {
                "id": "all_units_covered",
                "title": "孵化基地覆盖各县（市、区）（2025 年底）",
                **coverage,
            },
            {
                "id": "agencies_cover_all_units",
                "title": "社工机构实现各县（市、区）全覆盖（2025 年底）",
                **_agency_coverage(inputs.unit_live, units, COUNTY_DEADLINE, as_of),
            },
        ],
    }


def _base_local_target(bases: list[dict[str, Any]], as_of: dt.date) -> dict[str, Any]:
    if bases and all(b["status"] == "met" for b in bases):
        status = "met"
    else:
        status = "missed" if any(b["status"] == "missed" for b in bases) else "in_progress"
    return {
        "id": "base_local_incubation",
        "title": f"每个基地一年内孵化本地机构 3 家以上（截至 {as_of.isoformat()}）",
        "required": len(bases),
        "achieved": sum(b["status"] == "met" for b in bases),
        "status": status,
        # A base still within its first year is pending, not a gap (issue 11 §7).
        "missing": [b["base_name"] for b in bases if b["status"] == "missed"],
        "pending": [b["base_name"] for b in bases if b["status"] == "in_progress"],
        "bases": bases,
    }


def _city_agencies_target(live: tuple[int, int], as_of: dt.date) -> dict[str, Any]:
    day = min(as_of, DISTRICT_DEADLINE)
    agencies, all_live = live
    return {
        "id": "city_agencies",
        "title": "全市社工机构（民办社会工作服务机构）达到 100 家（2020 年底）",
        "deadline": DISTRICT_DEADLINE.isoformat(),
        "evaluated_on": day.isoformat(),
        "required": CITY_AGENCY_TARGET,
        "achieved": agencies,
        "associations": all_live - agencies,  # 社会工作协会: shown, not counted
        "missing_count": max(0, CITY_AGENCY_TARGET - agencies),
        "status": _status(agencies >= CITY_AGENCY_TARGET, as_of, DISTRICT_DEADLINE),
    }
