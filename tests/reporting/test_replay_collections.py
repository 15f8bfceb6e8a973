"""The bulk load runs the cyclic collector less often, and gives the process back as it was."""

from __future__ import annotations

import gc

import pytest

from services.reporting.replay import BULK_GC_THRESHOLD, fewer_collections


def failing_batch(before: tuple[int, int, int]) -> None:
    with fewer_collections():
        assert gc.get_threshold() == (BULK_GC_THRESHOLD, *before[1:])
        raise RuntimeError("a batch failed")


def test_the_collector_threshold_is_raised_during_a_load_and_restored_after_a_failure() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError, match="a batch failed"):
        failing_batch(before)
    assert gc.get_threshold() == before
