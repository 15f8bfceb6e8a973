"""The facts of each kind with versions (agencies, bases, stays, listings) alone read or write
that kind's table of the state, each only its own entry: an entity's view is then the fold of
its own facts, and a kept state serves a by-recording cut-off with some agencies folded again
(foldworker.Start.held). Every folded type is applied from its contract example.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from socialwork_contracts import registry as reg
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.catalog import load

from services.reporting.domain.place_versions import BASE_FACTS, STAY_FACTS
from services.reporting.domain.state import (
    AGENCY_FACTS,
    CityState,
    apply_event,
    folded_types,
    refold_agencies,
)
from services.reporting.domain.versions import LISTING_FACTS

EXAMPLES = Path(__file__).parents[2] / "contracts" / "examples"


class Watched(dict[str, Any]):
    """`agencies` noting every key read or written, and every read of the whole."""

    def __init__(self) -> None:
        super().__init__()
        self.touched: list[str | None] = []

    def __getitem__(self, key: str) -> Any:
        self.touched.append(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.touched.append(key)
        return super().get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self.touched.append(key)
        super().__setitem__(key, value)

    def __contains__(self, key: object) -> bool:
        self.touched.append(str(key))
        return super().__contains__(key)

    def values(self) -> Any:
        self.touched.append(None)
        return super().values()

    def items(self) -> Any:
        self.touched.append(None)
        return super().items()

    def __iter__(self) -> Any:
        self.touched.append(None)
        return super().__iter__()


def examples() -> list[DomainEvent]:
    """The contract example of every folded type, in its current version (registrations
    first, so that the others find their agency)."""
    events = []
    for path in sorted(EXAMPLES.glob("*.json")):
        message = json.loads(path.read_text("utf-8"))
        name, version = message["type"].rsplit(".v", 1)
        if name in folded_types():
            events.append(load(name, int(version), message["data"]))
    # Entities first, so that the facts about them find them on the first pass too.
    first = ("AgencyRegistered", "BaseEstablished", "IncubationStarted", "AgencyListed")
    return sorted(events, key=lambda e: e.event_type not in first)


# Each kind with versions (domain/versions.py): its facts, the state's table they write, the
# payload field naming the entry.
KINDS = [
    pytest.param(AGENCY_FACTS, "agencies", "uscc", id="agency"),
    pytest.param(BASE_FACTS, "bases", "base_id", id="base"),
    pytest.param(STAY_FACTS, "incubations", "incubation_id", id="stay"),
    pytest.param(LISTING_FACTS, "listings", "listing_id", id="listing"),
]


@pytest.mark.parametrize(("facts", "table", "key"), KINDS)
def test_only_a_kinds_facts_touch_its_table_each_only_its_own_entry(
    facts: frozenset[type[DomainEvent]], table: str, key: str
) -> None:
    """What makes an entity's view the fold of its own facts, so its versions are computed from
    them alone. Twice: the second time every record the others refer to is there."""
    state = CityState()
    setattr(state, table, watched := Watched())
    seen = set()
    for _ in range(2):
        for event in examples():
            watched.touched.clear()
            apply_event(state, event, dt.date(2024, 6, 1))
            if type(event) in facts:
                assert set(watched.touched) <= {event.model_dump()[key]}, event.event_type
                assert watched.touched, event.event_type  # it reads or writes its entry
            else:
                assert watched.touched == [], event.event_type
            seen.add(type(event))
    assert facts <= seen
    assert watched  # the examples made some


def test_an_agency_folded_again_without_its_later_facts() -> None:
    events = examples()
    registered = next(e for e in events if isinstance(e, reg.AgencyRegistered))
    uscc = registered.uscc
    state = CityState()
    for event in events:
        apply_event(state, event, dt.date(2024, 6, 1))
    refold_agencies(state, [uscc, "none-left"], [(registered, dt.date(2024, 5, 1))])
    expected = CityState()
    apply_event(expected, registered, dt.date(2024, 5, 1))
    assert state.agencies[uscc] == expected.agencies[uscc]
    assert "none-left" not in state.agencies
