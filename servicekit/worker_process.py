"""The worker side of `servicekit.workers`: a loop that runs the pickled calls its parent sends.

Kept apart from the pool so that a worker imports none of the parent's machinery: the pool's
`BrokenProcessPool` comes from `concurrent.futures.process`, which imports `multiprocessing`,
0.7 MiB resident in every worker that never used it (issue 12: reporting's RSS with its two fold
workers).
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import threading
import time
from typing import IO, Any

# How often a worker looks for its parent: the longest an orphan outlives it.
PARENT_CHECK_SECONDS = 0.5
_SIZE = struct.Struct("!Q")  # a frame: its length, then a pickle


def serve(calls_fd: int, outcomes_fd: int) -> None:
    """In a worker: run each call read until an end of file, writing back its outcome."""
    # Ctrl-C reaches the whole process group: the parent stops, and its workers with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent(os.getppid())
    with os.fdopen(calls_fd, "rb") as calls, os.fdopen(outcomes_fd, "wb") as outcomes:
        while True:
            try:
                frame = read_frame(calls)
            except EOFError:  # the parent closed the pipe, or is gone
                return
            try:  # a function this process cannot import (the parent's __main__) fails alone
                fn, args, kwargs = pickle.loads(frame)  # noqa: S301 - from our parent
                outcome: tuple[bool, Any] = (True, fn(*args, **kwargs))
            except Exception as exc:
                outcome = (False, exc)
            try:
                frame = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # an outcome that cannot travel: its description does
                frame = pickle.dumps((False, RuntimeError(f"{outcome[1]!r}: {exc!r}")))
            write_frame(outcomes, frame)


def write_frame(pipe: IO[bytes], frame: bytes) -> None:
    pipe.write(_SIZE.pack(len(frame)))
    pipe.write(frame)
    pipe.flush()


def read_frame(pipe: IO[bytes]) -> bytes:
    """One frame; EOFError at an end of file before or within it."""
    head = pipe.read(_SIZE.size)
    if len(head) < _SIZE.size:
        raise EOFError
    (size,) = _SIZE.unpack(head)
    frame = pipe.read(size)
    if len(frame) < size:
        raise EOFError
    return frame


def _watch(parent: int) -> None:
    while True:
        time.sleep(PARENT_CHECK_SECONDS)
        # Re-parented (to init or a subreaper) means the starting process is gone.
        if os.getppid() != parent:
            os._exit(1)


def exit_with_parent(parent: int) -> None:
    """A daemon thread ends this worker once `parent` is gone, even in the middle of a call."""
    threading.Thread(target=_watch, args=(parent,), name="parent-watch", daemon=True).start()
