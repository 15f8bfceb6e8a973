"""The report benchmark's live events are ones the reporting consumer applies.

Numbered 1 in every stream, of the same agencies as the replayed history, most of them were
parked as version conflicts (~80 of 1,500 applied), so the report load's "live events arriving"
mostly did not arrive in the projection.
"""

from __future__ import annotations

import itertools
import json

from socialwork_contracts.incubation import BaseEstablished

from benchmarks.history_generator import history
from benchmarks.report_load import live_events

LIVE = 2_000


def test_each_live_stream_is_numbered_from_one_without_a_gap() -> None:
    seen: dict[tuple[str, str], list[int]] = {}  # by producer (store) and stream
    for topic, key, value in itertools.islice(live_events(seed=1_733_400_000), LIVE):
        body = json.loads(value)
        assert key.decode() == body["streamid"]
        seen.setdefault((topic, body["streamid"]), []).append(body["streamversion"])
    assert all(v == list(range(1, len(v) + 1)) for v in seen.values())
    assert any(len(v) > 1 for v in seen.values())


def test_live_streams_are_not_the_historys() -> None:
    replayed = {
        str(getattr(i.event, i.event.stream_field))
        for i in itertools.islice(history(50_000, seed=2018), 50_000)
    }
    live = {key.decode() for _, key, _ in itertools.islice(live_events(seed=1_733_400_000), LIVE)}
    assert not live & replayed


def test_live_agencies_are_incubated_in_the_historys_bases_and_establish_none() -> None:
    """Each run established ~30 bases of its own, dated today, beside the history's ~30: a kept
    1M database had 2,227 after ~70 runs, and every as-of-today answer grew with them."""
    replayed = {
        i.event.base_id
        for i in itertools.islice(history(50_000, seed=2018), 200)
        if isinstance(i.event, BaseEstablished)
    }
    bodies = [json.loads(v) for _, _, v in itertools.islice(live_events(seed=1_733_400_000), LIVE)]
    types = {b["type"].split(".")[0] for b in bodies}
    assert "BaseEstablished" not in types and "TrainingDelivered" not in types
    started = [b["data"]["base_id"] for b in bodies if b["type"].startswith("IncubationStarted")]
    assert started and set(started) <= replayed
    assert not {b["streamid"] for b in bodies} & replayed  # no event on a base's own stream
