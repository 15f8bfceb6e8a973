"""`servicekit.consumer.runs`: a batch's events cut into many-row runs and single events."""

from __future__ import annotations

from typing import Any

from servicekit.consumer import runs


class Event:
    def __init__(self, key: str | None) -> None:
        self.key = key


def cut(keys: list[str | None]) -> list[tuple[bool, list[str | None]]]:
    events: list[Any] = [(None, Event(k)) for k in keys]
    key: Any = lambda event: event.key  # noqa: E731 - a stand-in event's key
    return [(together, [key(event) for _, event in run]) for together, run in runs(events, key)]


def test_order_is_kept_and_a_single_event_ends_a_run() -> None:
    assert cut(["a", "b", None, "c"]) == [(True, ["a", "b"]), (False, [None]), (True, ["c"])]


def test_a_key_met_again_starts_a_new_run() -> None:
    # One many-row statement must never meet one row twice (ON CONFLICT DO UPDATE refuses it).
    assert cut(["a", "b", "a", "c"]) == [(True, ["a", "b"]), (True, ["a", "c"])]


def test_no_events_no_runs() -> None:
    assert cut([]) == []
    assert cut([None, None]) == [(False, [None]), (False, [None])]
