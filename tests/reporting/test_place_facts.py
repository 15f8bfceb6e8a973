"""Base facts alone write `bases` and stay facts alone `incubations`, each only its own entry
(a base by its id, a stay by its incubation id): what makes a base's or a stay's view the fold
of its own facts, so its versions are computed from them alone (domain/place_versions.py).
Every folded type is applied from its contract example, twice (the second time every record
the others refer to is there)."""

from __future__ import annotations

import datetime as dt

from services.reporting.domain.place_versions import BASE_FACTS, BASE_TYPES, STAY_FACTS, STAY_TYPES
from services.reporting.domain.state import CityState, apply_event
from tests.reporting.test_agency_facts import Watched, examples


def test_only_base_facts_touch_bases_and_only_stay_facts_stays_each_its_own_entry() -> None:
    state = CityState()
    state.bases = bases = Watched()
    state.incubations = stays = Watched()
    # Bases and stays first, so that the others find them on the first pass too.
    events = sorted(
        examples(), key=lambda e: e.event_type not in ("BaseEstablished", "IncubationStarted")
    )
    seen = set()
    for _ in range(2):
        for event in events:
            bases.touched.clear()
            stays.touched.clear()
            apply_event(state, event, dt.date(2024, 6, 1))
            fields = event.model_dump()
            if type(event) in BASE_FACTS:
                assert set(bases.touched) <= {fields["base_id"]}, event.event_type
            else:
                assert bases.touched == [], event.event_type
            if type(event) in STAY_FACTS:
                assert set(stays.touched) <= {fields["incubation_id"]}, event.event_type
            else:
                assert stays.touched == [], event.event_type
            seen.add(event.event_type)
    assert set(BASE_TYPES) | set(STAY_TYPES) <= seen
    assert state.bases and state.incubations  # the examples made some
