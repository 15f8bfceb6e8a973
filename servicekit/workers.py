"""Worker processes that die with the process that spawned them.

A spawned `ProcessPoolExecutor` worker holds both ends of its call queue, so it never reads an
end of file when its parent is SIGKILLed: it would run on, holding its memory, with no one to
answer. `exit_with_parent` (the pool's initializer) makes each worker watch its parent and leave
as soon as it is gone.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

# How often a worker looks for its parent: the longest an orphan outlives it.
PARENT_CHECK_SECONDS = 0.5


def _watch(parent: int) -> None:
    while True:
        time.sleep(PARENT_CHECK_SECONDS)
        # Re-parented (to init or a subreaper) means the spawning process is gone.
        if os.getppid() != parent:
            os._exit(1)


def exit_with_parent(parent: int) -> None:
    """Pool initializer: a daemon thread ends this worker once `parent` is gone."""
    threading.Thread(target=_watch, args=(parent,), name="parent-watch", daemon=True).start()


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of spawned workers (a forked child would inherit the service's event loop, pool
    sockets and threads) that exit with this process."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=exit_with_parent,
        initargs=(os.getpid(),),
    )
