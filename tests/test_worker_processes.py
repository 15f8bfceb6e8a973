"""Worker processes die with the service that spawned them.

A reporting service SIGKILLed (out of memory, a node drained hard) left its fold workers running:
a spawned pool worker holds both ends of its call queue, so it never sees its parent go, and each
kept its held states (tens to hundreds of MB) until someone killed it. 26 were found after one
fault-suite run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from devstack._process import pid_alive

from tests.support import wait_for

ROOT = Path(__file__).resolve().parent.parent

# The reporting service's own cache, started as the service starts it, in a process of its own.
PARENT = """
import asyncio
from services.reporting.cache import ReportCache
from services.reporting.domain.targets import TargetOptions

async def main() -> None:
    cache = ReportCache("postgresql://unused", TargetOptions())
    await cache.start_workers()  # as the service starts them (no database needed)
    pids = [pid for ex in cache.executors.values() for pid in ex._processes]
    print(" ".join(map(str, pids)), flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_fold_workers_exit_when_the_service_is_sigkilled() -> None:
    parent = subprocess.Popen(  # noqa: S603, ASYNC220 - our own interpreter; killed below
        [sys.executable, "-c", PARENT], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(workers) == 2 and all(pid_alive(pid) for pid in workers)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()

        async def all_gone() -> bool:
            return not any(pid_alive(pid) for pid in workers)

        await wait_for(all_gone, timeout=20)
    finally:
        parent.kill()
        parent.wait()
