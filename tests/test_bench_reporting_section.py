"""bench_reporting writes its replay figures whether or not the run measured the latency."""

from __future__ import annotations

from typing import Any

from benchmarks.bench_reporting import section


def results(latency: dict[str, Any] | None) -> dict[str, Any]:
    run = {"rate": 100_000.0, "seconds": 10.0, "maxrss_mb": 60.0}
    return {
        "when": "2026-12-07T14:00:00+00:00",
        "events": 1_000_000,
        "load": "0.5 0.4 0.3",
        "generated": {"registry": 600_000, "incubation": 400_000},
        "generate_seconds": 49.0,
        "raw": [run, run],
        "ours": {
            **run,
            "rate": 52_000.0,
            "facts": 999_000,
            "agencies": 52_000,
            "switched": True,
            "workers": 2,
        },
        "latency": latency,
        "reports": None,
        "profile": None,
    }


def test_a_run_without_the_latency_phase_writes_the_replays_figures() -> None:
    """`--latency-seconds 0`: the section is written without the latency paragraph (the run
    ended with an IndexError after the replay, and its figures went unwritten)."""
    text = section(results(None))
    assert "| Events/s | 52,000 | 100,000 | 0.52× |" in text
    assert "Latency from a registration" not in text


def test_a_run_with_the_latency_phase_writes_it() -> None:
    latency = {
        "commands": 300,
        "rate_per_second": 10.0,
        "seconds": 30.0,
        "visible_p50_ms": 80.0,
        "visible_p99_ms": 170.0,
        "visible_max_ms": 210.0,
        "accept_p50_ms": 9.0,
    }
    text = section(results(latency))
    assert "**p50 80 ms, p99 170 ms**" in text
