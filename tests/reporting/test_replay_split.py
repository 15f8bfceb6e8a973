"""How the bulk load splits partitions between this process and the spawned ones."""

from __future__ import annotations

from servicekit.topic_reading import Span
from services.reporting.replay import SPAWN_HEAD_START, split_spans


def spans(sizes: list[int]) -> list[Span]:
    return [Span("t", p, 0, size) for p, size in enumerate(sizes)]


def total(share: list[Span]) -> int:
    return sum(s.size for s in share)


def test_this_process_reads_more_by_what_a_spawned_one_spends_starting() -> None:
    """A spawned shard first starts an interpreter and imports the replay (≈0.7 s) while this
    process is already reading: with equal shares this one then waited for it."""
    to_read = spans([11_000] * 18)  # 198,000 events, as the 200k benchmark's partitions
    here, there = split_spans(to_read, 2)
    assert total(here) + total(there) == 198_000
    assert abs(total(here) - total(there) - SPAWN_HEAD_START) <= 11_000  # one partition's size


def test_a_small_log_is_still_split() -> None:
    """The head start is at most a quarter of a fair share: a small log (the tests') still
    exercises the spawned shards."""
    here, there = split_spans(spans([500] * 6), 2)
    assert here and there
    assert set(here).isdisjoint(there)
    assert total(here) + total(there) == 3000


def test_one_shard_takes_every_partition() -> None:
    assert split_spans(spans([5, 9, 1]), 1) == [sorted(spans([5, 9, 1]), key=lambda s: -s.size)]


def test_uneven_partitions_still_give_this_process_its_head_start() -> None:
    """The 1M benchmark's partitions (three topics of six, 38-70k each): placing the largest
    first split them 500,013 / 500,013, so this process, reading while the other started,
    waited 0.3-0.9 s for it at the end. A swap of two partitions brings it within a quarter
    of the head start."""
    to_read = spans([70_274] * 6 + [57_939] * 6 + [38_458] * 6)
    here, there = split_spans(to_read, 2)
    assert total(here) + total(there) == sum(s.size for s in to_read)
    assert abs(total(here) - total(there) - SPAWN_HEAD_START) <= SPAWN_HEAD_START // 4
