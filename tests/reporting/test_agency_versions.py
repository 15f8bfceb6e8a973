"""An agency's versions hold, for every day and recording instant, the view the fold of its facts
effective by that day and recorded by that instant holds (domain/versions.py; issue 12)."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from socialwork_contracts import registry as reg
from socialwork_contracts.base import DomainEvent

from services.reporting.domain.state import AgencyView, CityState, apply_event
from services.reporting.domain.versions import AgencyFact, AgencyVersion, agency_versions
from tests.reporting.builders import agency

START = dt.date(2020, 1, 1)
UNITS = ("jinshui", "erqi", "zhongyuan")
GROUPS = ("elderly", "children", "disabled")
USCC = "51410100MJ0000001X"


def _event(rng: random.Random, day: dt.date) -> DomainEvent:
    match rng.choice(["registered", "amended", "amended", "suspended", "reinstated", "ended"]):
        case "registered":
            registered = agency(USCC, rng.choice(UNITS), day, target_groups=rng.sample(GROUPS, 2))
            return reg.AgencyRegistered.model_validate(registered.data)
        case "amended":
            return reg.AgencyProfileAmended(
                uscc=USCC,
                reporting_unit=rng.choice([None, *UNITS]),
                target_groups=rng.choice([None, rng.sample(GROUPS, 1)]),
                priority=rng.random() < 0.5,
                changed_fields=["reporting_unit"],
            )
        case "suspended":
            return reg.AgencySuspended(uscc=USCC, until=None, reason="r")
        case "reinstated":
            return reg.AgencyReinstated(uscc=USCC, reason="r")
        case _:
            return rng.choice(
                [
                    reg.AgencyDeregistered(uscc=USCC, reason="r"),
                    reg.AgencyRegistrationRevoked(uscc=USCC, reason="r"),
                ]
            )


def _history(seed: int) -> list[AgencyFact]:
    """An agency's facts in fold order: some recorded late, some amending before registration,
    some on one day, a second registration now and then."""
    rng = random.Random(seed)
    facts = []
    for _ in range(rng.randint(1, 7)):
        day = START + dt.timedelta(days=rng.randint(0, 20))
        late = dt.timedelta(days=rng.choice([0, 0, 2, 9, 30]), hours=rng.randint(0, 23))
        recorded = dt.datetime.combine(day, dt.time(2), tzinfo=dt.UTC) + late
        facts.append((_event(rng, day), day, recorded))
    # Fold order: effective day, then (as occurred) recording, as state.sort_key.
    return sorted(facts, key=lambda f: (f[1], f[2]))


def _folded(
    facts: list[AgencyFact], day: dt.date, recorded: dt.datetime | None
) -> list[AgencyView]:
    state = CityState()
    for event, on, at in facts:
        if on <= day and (recorded is None or at <= recorded):
            apply_event(state, event, on)
    return list(state.agencies.values())


def holds(version: AgencyVersion, day: dt.date, recorded_until: dt.datetime | None) -> bool:
    """Whether a fold as of `day` (recorded by `recorded_until`) holds this version: the
    meaning readmodel._VERSIONS_AT gives it in SQL."""
    if not (version.valid_from <= day and (version.valid_to is None or day < version.valid_to)):
        return False
    if recorded_until is None:
        return version.recorded_to is None
    return version.recorded_from <= recorded_until and (
        version.recorded_to is None or recorded_until < version.recorded_to
    )


@pytest.mark.parametrize("seed", range(60))
def test_versions_hold_the_fold_of_every_cutoff(seed: int) -> None:
    facts = _history(seed)
    versions = agency_versions(facts)
    instants = sorted({at for _, _, at in facts})
    second = dt.timedelta(seconds=1)
    cutoffs = [None, instants[0] - second, *instants, *(i - second for i in instants[1:])]
    for offset in range(-1, 25):
        day = START + dt.timedelta(days=offset)
        for recorded in cutoffs:
            held = [v.view for v in versions if holds(v, day, recorded)]
            assert held == _folded(facts, day, recorded), (seed, day, recorded)


def test_an_agency_known_throughout_is_one_version() -> None:
    registered = agency(USCC, "jinshui", START)
    event = reg.AgencyRegistered.model_validate(registered.data)
    (version,) = agency_versions([(event, START, registered.recorded_at)])
    assert (version.valid_from, version.valid_to, version.recorded_to) == (START, None, None)
