"""Listing facts (versions.LISTING_FACTS) alone read or write `listings`, each only its own
listing id's entry: what makes a listing's versions the fold of its own facts (issue 12,
readmodel_listings.py). Every folded type is applied from its contract example."""

from __future__ import annotations

import datetime as dt

from services.reporting.domain.state import CityState, apply_event
from services.reporting.domain.versions import LISTING_FACTS, LISTING_TYPES
from tests.reporting.test_agency_facts import Watched, examples


def test_only_listing_facts_touch_listings_and_only_their_own_id() -> None:
    state = CityState()
    state.listings = watched = Watched()
    day = dt.date(2024, 6, 1)
    seen = set()
    for _ in range(2):  # again, now that every record the others refer to is there
        for event in examples():
            watched.touched.clear()
            apply_event(state, event, day)
            if type(event) in LISTING_FACTS:
                assert set(watched.touched) <= {event.model_dump()["listing_id"]}, event.event_type
                assert watched.touched, event.event_type  # it does read or write its entry
            else:
                assert watched.touched == [], event.event_type
            seen.add(event.event_type)
    assert set(LISTING_TYPES) <= seen
