"""A fold worker imports what a fold and a render need, nothing of the service around it.

Each of the two worker processes imported the Kafka client, FastStream, structlog and the
metrics registry through `readmodel` (`servicekit.consumer`) and the event store: 60 MB resident
before any state against 40 for the fold's own imports (issue 12: reporting's RSS at 1M).
Its entry point's module brought `multiprocessing` (the pool's `BrokenProcessPool`): 0.7 MiB more.
"""

from __future__ import annotations

from servicekit.workers import worker_pool
from services.reporting import foldworker
from tests.reporting.worker_probe import loaded_packages

# Packages a fold never calls: each brings megabytes of modules to every worker process.
NOT_FOR_A_FOLD = (
    "aiokafka",
    "faststream",
    "structlog",
    "prometheus_client",
    "fastapi",
    "multiprocessing",
)


def test_a_spawned_fold_worker_imports_no_service_machinery() -> None:
    pool = worker_pool(1)  # spawned, as the service's cache starts its lanes
    try:
        pool.submit(foldworker.started).result(timeout=120)
        # A function of a module that imports nothing: not this test module's imports.
        loaded = pool.submit(loaded_packages).result(timeout=30)
    finally:
        pool.shutdown()
    assert "socialwork_contracts" in loaded and "asyncpg" in loaded  # it did import the fold
    assert loaded.isdisjoint(NOT_FOR_A_FOLD), sorted(loaded & set(NOT_FOR_A_FOLD))
