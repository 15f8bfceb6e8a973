"""Bases and stays (incubations) as bitemporal versions (domain/versions.py), each computed
from its own facts with the fold's handlers: the places and stays targets, `GET /reports/bases`
and trends read (issue 12: any as-of date without a fold).

Base facts write only `bases`, stay facts only `incubations`, each only its own entry
(tests/reporting/test_agency_facts.py); `IncubationIdentityLinked` also moves funding and
issue-11 records to the credit code, which these versions do not hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from socialwork_contracts import incubation as inc
from socialwork_contracts.base import DomainEvent

from services.reporting.domain.state import BaseView, CityState, IncubationView
from services.reporting.domain.versions import EntityFact, Version, entity_versions

BASE_FACTS: frozenset[type[DomainEvent]] = frozenset(
    {inc.BaseEstablished, inc.BaseFacilitiesUpdated, inc.BaseClosed}
)
STAY_FACTS: frozenset[type[DomainEvent]] = frozenset(
    {
        inc.IncubationStarted,
        inc.IncubationExtended,
        inc.AgencyGraduated,
        inc.IncubationTerminated,
        inc.IncubationIdentityLinked,
    }
)
BASE_TYPES: tuple[str, ...] = tuple(sorted(cls.event_type for cls in BASE_FACTS))
STAY_TYPES: tuple[str, ...] = tuple(sorted(cls.event_type for cls in STAY_FACTS))

BaseVersion = Version[BaseView]
StayVersion = Version[IncubationView]


def base_versions(facts: Sequence[EntityFact]) -> list[BaseVersion]:
    """One base's versions from its base facts in fold order."""
    return entity_versions(facts, _bases)


def stay_versions(facts: Sequence[EntityFact]) -> list[StayVersion]:
    """One stay's versions from its stay facts in fold order."""
    return entity_versions(facts, _stays)


def _bases(state: CityState) -> dict[str, Any]:
    return state.bases


def _stays(state: CityState) -> dict[str, Any]:
    return state.incubations
