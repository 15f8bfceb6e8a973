"""The fold workers are the service's only child processes, and a pool's calls behave as calls.

`multiprocessing`'s spawned pool started a resource tracker beside its workers (12 MB resident
for the service's life; issue 12: reporting's RSS ≤ 150 MB after the 200/s run, ≤ 300 MB with
its workers at a million facts).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from servicekit.workers import worker_pool

ROOT = Path(__file__).resolve().parent.parent

# The reporting service's cache, its workers started as the service starts them.
PARENT = """
import asyncio, os
from pathlib import Path
from services.reporting.cache import ReportCache
from services.reporting.domain.targets import TargetOptions

def children() -> set[int]:
    found = set()
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                stat = (p / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == os.getpid():
                found.add(int(p.name))
    return found

async def main() -> None:
    cache = ReportCache("postgresql://unused", TargetOptions())
    await cache.start_workers()
    workers = {pid for ex in cache.executors.values() for pid in ex._processes}
    print(len(workers), sorted(children() - workers), flush=True)
    cache.close()

asyncio.run(main())
"""


def test_the_service_starts_no_process_but_its_fold_workers() -> None:
    found = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments, no shell
        [sys.executable, "-c", PARENT], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.split(maxsplit=1) == ["2", "[]\n"]


def _fails() -> None:
    raise ValueError("in the worker")


def _dies() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def test_a_call_returns_raises_or_breaks_the_pool_when_its_worker_dies() -> None:
    loop = asyncio.get_running_loop()
    pool = worker_pool(1)
    try:
        assert await loop.run_in_executor(pool, os.getpid) in pool._processes
        with pytest.raises(ValueError, match="in the worker"):
            await loop.run_in_executor(pool, _fails)
        with pytest.raises(AttributeError):  # a lambda cannot travel: that call fails alone
            await loop.run_in_executor(pool, lambda: None)
        assert await loop.run_in_executor(pool, os.getpid) in pool._processes
        with pytest.raises(BrokenProcessPool):
            await loop.run_in_executor(pool, _dies)
        with pytest.raises(BrokenProcessPool):
            pool.submit(os.getpid)
    finally:
        pool.shutdown()
