"""What a decision needs to know beyond its own stream, read in the command's transaction.

The handler loads these (under the base's and the agency's advisory locks) and passes them in,
so `decide` stays pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.incubation.domain.criteria import CriteriaVersion
from services.incubation.domain.incubation_base import IncubationBase


@dataclass(frozen=True, slots=True)
class KnownAgency:
    """The agency as this service learned it from the registry's and supervision's topics."""

    uscc: str
    name: str
    reporting_unit: str
    status: str  # registry status: active | suspended | deregistered | revoked
    lists: tuple[str, ...] = ()  # credit lists it is on now: abnormal, serious
    staff: tuple[int, int] | None = None  # (full-time, qualified) as the registry recorded them
    inspection: tuple[int, str] | None = None  # (year, conclusion) of the latest annual inspection


@dataclass(frozen=True, slots=True)
class BaseFigures:
    """What the platform holds of a base's operation over a period (for its evaluation)."""

    offices_occupied: int  # at the period's end
    incubations_started: int
    graduations: int
    terminations: int
    funding_yuan: str  # exact decimal string
    training_sessions: int
    training_hours: str
    training_attendees: int
    # 提供专业服务: records whose period ends within the evaluation period.
    service_projects: int = 0
    service_hours: str = "0"
    service_beneficiaries: int = 0


@dataclass(frozen=True, slots=True)
class Situation:
    base: IncubationBase | None = None
    agency: KnownAgency | None = None
    # Other incubations of this agency that hold a place (approved, signed or incubating).
    agency_holding: tuple[str, ...] = ()
    # Other incubations at this base that hold a place, and the offices other incubations hold.
    base_holding: int = 0
    occupied_offices: frozenset[str] = frozenset()
    # Other applications of the same call already approved (whatever became of them since).
    call_approved: int = 0
    criteria: CriteriaVersion | None = None
    figures: BaseFigures | None = None  # a base evaluation's period
