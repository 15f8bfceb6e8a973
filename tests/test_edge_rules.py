"""Rules of the edge that need no server: correlation ids and the failed-authentication limit."""

from __future__ import annotations

import uuid

import pytest

from servicekit.http import FailedAuthentications, correlation_id


@pytest.mark.parametrize(
    "given",
    ["abc", "req-1", "gw.01:2024-05-01_x", "A" * 128, str(uuid.uuid4())],
)
def test_a_fit_correlation_id_is_kept(given: str) -> None:
    assert correlation_id(given) == given


@pytest.mark.parametrize(
    "given",
    ["", "A" * 129, "c" * 8192, "a b", "a\tb", "a/b", "a;b", "<x>", "é", "编号", "a\nb", "a%20b"],
)
def test_an_unfit_correlation_id_is_replaced_by_a_new_one(given: str) -> None:
    replaced = correlation_id(given)
    assert replaced != given
    assert str(uuid.UUID(replaced)) == replaced


def test_no_correlation_id_gets_a_new_one() -> None:
    first, second = correlation_id(None), correlation_id(None)
    assert first != second
    assert str(uuid.UUID(first)) == first


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_is_held_after_too_many_failures_until_the_window_passes() -> None:
    clock = Clock()
    failures = FailedAuthentications(limit=3, window=60.0, clock=clock)
    for _ in range(3):
        assert failures.retry_after("10.0.0.1") is None
        failures.failed("10.0.0.1")
        clock.now += 10
    # 3 failures at 1000, 1010, 1020; now 1030: the oldest leaves the window at 1060.
    assert failures.retry_after("10.0.0.1") == 30
    assert failures.retry_after("10.0.0.2") is None
    clock.now = 1060.5
    assert failures.retry_after("10.0.0.1") is None


def test_the_addresses_held_in_memory_are_bounded() -> None:
    clock = Clock()
    failures = FailedAuthentications(limit=1, window=60.0, clock=clock, max_addresses=100)
    for n in range(1000):
        failures.failed(f"10.0.{n // 256}.{n % 256}")
    assert len(failures) <= 100
    assert failures.retry_after("10.0.3.231") is not None  # the latest are kept
