"""Worker processes fed calls over pipes, that die with the process that started them.

`multiprocessing`'s spawned pool started a third process beside its workers, the resource
tracker that unlinks its queues' named semaphores: 12 MB resident for the service's lifetime
(issue 12: reporting's RSS). Here each worker is a fresh interpreter (not a fork: a forked child
would inherit the service's event loop, pool sockets and threads) that reads pickled calls from
one pipe and writes their outcomes to another; there is nothing to clean up after it. A worker
that dies (killed, out of memory) fails its call and every queued one with `BrokenProcessPool`,
as `ProcessPoolExecutor` did, and the pool takes no more: the caller starts another.

A worker leaves once its parent is gone: it reads an end of file on its call pipe when idle
(it holds no write end), and a daemon thread watching its parent ends it mid-call.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool
from typing import IO, Any, ParamSpec, TypeVar

from servicekit.worker_process import read_frame, write_frame

P = ParamSpec("P")
T = TypeVar("T")
Call = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class WorkerPool(Executor):
    """`workers` worker processes, each serving one call at a time from a shared queue."""

    def __init__(self, workers: int) -> None:
        self._calls: queue.SimpleQueue[Call | None] = queue.SimpleQueue()
        self._processes: dict[int, subprocess.Popen[bytes]] = {}  # by process id
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._broken: str | None = None
        self._shut = False
        for _ in range(workers):
            process, calls, outcomes = _start_worker()
            self._processes[process.pid] = process
            thread = threading.Thread(
                target=self._serve, args=(process, calls, outcomes), name="worker-pipe", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids (an operator's status names the process doing the work)."""
        return list(self._processes)

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        with self._lock:
            if self._broken is not None:
                raise BrokenProcessPool(self._broken)
            if self._shut:
                raise RuntimeError("cannot schedule new futures after shutdown")
            future: Future[T] = Future()
            self._calls.put((future, fn, args, kwargs))
            return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """No more calls; each worker exits after its current one (an end of file)."""
        with self._lock:
            if not self._shut:
                self._shut = True
                if cancel_futures:
                    self._fail_queued(None)
                for _ in self._threads:
                    self._calls.put(None)
        if wait:
            for thread in self._threads:
                thread.join()
            for process in self._processes.values():
                process.wait()

    def _serve(
        self, process: subprocess.Popen[bytes], calls: IO[bytes], outcomes: IO[bytes]
    ) -> None:
        """One worker's calls, in this thread: the pipes block it, not the caller's loop."""
        with outcomes, _closing(calls):
            while (call := self._calls.get()) is not None:
                future, fn, args, kwargs = call
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    frame = pickle.dumps((fn, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
                except Exception as exc:  # an argument that cannot travel: this call fails
                    future.set_exception(exc)
                    continue
                try:
                    write_frame(calls, frame)
                    ok, value = pickle.loads(read_frame(outcomes))  # noqa: S301 - our own worker's
                except (OSError, EOFError, pickle.UnpicklingError):
                    self._died(process, future)
                    return
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        process.wait()  # it exits on the end of file closing `calls` sent

    def _died(self, process: subprocess.Popen[bytes], future: Future[Any]) -> None:
        code = process.wait()
        reason = f"a worker process ended (exit code {code}) during a call"
        with self._lock:
            self._broken = reason
            future.set_exception(BrokenProcessPool(reason))
            self._fail_queued(reason)
            for _ in self._threads:  # the other workers stop after their current call
                self._calls.put(None)

    def _fail_queued(self, reason: str | None) -> None:
        """Queued calls cancelled (None) or failed; the queue's stop marks are kept."""
        stops = 0
        with contextlib.suppress(queue.Empty):
            while True:
                call = self._calls.get_nowait()
                if call is None:
                    stops += 1
                elif reason is None:
                    call[0].cancel()
                elif call[0].set_running_or_notify_cancel():
                    call[0].set_exception(BrokenProcessPool(reason))
        for _ in range(stops):
            self._calls.put(None)


@contextlib.contextmanager
def _closing(pipe: IO[bytes]) -> Iterator[IO[bytes]]:
    """A call pipe closed at the end: a dead worker's leaves a frame unsent (EPIPE again)."""
    try:
        yield pipe
    finally:
        with contextlib.suppress(OSError):
            pipe.close()


def worker_pool(workers: int) -> WorkerPool:
    """A pool of `workers` worker processes that exit with this process."""
    return WorkerPool(workers)


def _start_worker() -> tuple[subprocess.Popen[bytes], IO[bytes], IO[bytes]]:
    """A new interpreter with this one's import path; its call pipe's write end and its outcome
    pipe's read end (the worker holds neither: os.pipe's ends are not inherited)."""
    call_read, call_write = os.pipe()
    outcome_read, outcome_write = os.pipe()
    try:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments, no shell
            [sys.executable, "-c", _MAIN, json.dumps(sys.path), str(call_read), str(outcome_write)],
            pass_fds=(call_read, outcome_write),
        )
    except BaseException:
        for fd in (call_write, outcome_read):
            os.close(fd)
        raise
    finally:
        os.close(call_read)
        os.close(outcome_write)
    return process, os.fdopen(call_write, "wb"), os.fdopen(outcome_read, "rb")


# The worker's entry point: the parent's import path first, so a call's function is found where
# the parent found it (as multiprocessing's spawn does); the worker side only
# (servicekit.worker_process), not this module's imports.
_MAIN = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "from servicekit.worker_process import serve; serve(int(sys.argv[2]), int(sys.argv[3]))"
)
