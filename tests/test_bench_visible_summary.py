"""bench_visible says when its generator, not the services, delayed the run's start."""

from __future__ import annotations

from benchmarks.bench_visible import Sent, generator_start_late_ms


def test_the_first_scheduled_requests_send_delay_is_the_generators_start() -> None:
    sends = [
        Sent("registry", scheduled=10.005, sent=12.0),  # sent 2 s late, as openloop.c's old parse
        Sent("incubation", scheduled=10.0, sent=12.0),
        Sent("supervision", scheduled=10.010),  # never sent (a failure): no instant to count
    ]
    assert generator_start_late_ms(sends) == 2000.0


def test_a_run_with_nothing_sent_has_no_late_start() -> None:
    assert generator_start_late_ms([Sent("registry", scheduled=1.0)]) == 0.0
    assert generator_start_late_ms([]) == 0.0
