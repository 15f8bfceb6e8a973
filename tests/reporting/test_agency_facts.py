"""Agency facts (state.AGENCY_FACTS) alone read or write `agencies`, each only its own credit
code's entry: what lets a kept state serve a by-recording cut-off with some agencies folded again
(foldworker.Start.held). Every folded type is applied from its contract example.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from socialwork_contracts import registry as reg
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.catalog import load

from services.reporting.domain.state import (
    AGENCY_FACTS,
    AGENCY_TYPES,
    CityState,
    apply_event,
    folded_types,
    refold_agencies,
)

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
    return sorted(events, key=lambda e: e.event_type != "AgencyRegistered")


def test_only_agency_facts_touch_agencies_and_only_their_own_code() -> None:
    state = CityState()
    state.agencies = watched = Watched()
    day = dt.date(2024, 6, 1)
    seen = set()
    for _ in range(2):  # again, now that every record the others refer to is there
        for event in examples():
            watched.touched.clear()
            apply_event(state, event, day)
            if type(event) in AGENCY_FACTS:
                assert set(watched.touched) <= {event.model_dump()["uscc"]}, event.event_type
            else:
                assert watched.touched == [], event.event_type
            seen.add(event.event_type)
    assert set(AGENCY_TYPES) <= seen


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
