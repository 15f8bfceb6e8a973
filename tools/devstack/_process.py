"""Process helpers shared by the launchers: liveness checks, a TERM-then-KILL stop, log tails."""

from __future__ import annotations

import abc
import contextlib
import os
import signal
import time
from pathlib import Path
from types import TracebackType
from typing import Self


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True  # no procfs: trust kill(0)
    # The state letter follows the parenthesised command name, which may itself hold spaces.
    state = stat.rpartition(")")[2].split()[:1]
    return state != ["Z"]


def cmdline(pid: int) -> str:
    """The command line of pid joined with spaces, or "" when it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode("utf-8", errors="replace").strip()


def pid_matches(pid: int, needle: str) -> bool:
    """True when pid is alive and its command line contains needle (guards against pid reuse).

    Without procfs the command line cannot be checked; liveness alone decides then.
    """
    if not pid_alive(pid):
        return False
    line = cmdline(pid)
    return needle in line if line else True


def wait_pid_gone(pid: int, timeout: float) -> bool:
    """Poll until pid is gone (or a zombie); False if it is still alive after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return not pid_alive(pid)


def terminate_pid(pid: int, *, timeout: float = 30.0, group: bool = False) -> None:
    """SIGTERM pid (or its whole process group), wait up to timeout, then SIGKILL.

    Works for processes that are not our children (e.g. from a pid file); use
    subprocess.Popen.wait afterwards to reap a child of ours.
    """

    def send(sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)

    if not pid_alive(pid):
        return
    send(signal.SIGTERM)
    if wait_pid_gone(pid, timeout):
        return
    send(signal.SIGKILL)
    wait_pid_gone(pid, 5.0)


def tail(text: str, lines: int = 40) -> str:
    """The last lines of text, for error messages that quote a process's output or log."""
    return "\n".join(text.splitlines()[-lines:])


class StopsOnExit(abc.ABC):
    """A launched process or cluster that a `with` block stops, however the block ends."""

    @abc.abstractmethod
    def stop(self) -> object:
        """Stop it; called once by `__exit__`."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class Logged(StopsOnExit):
    """A launched process that writes a log, quoted in the errors about it."""

    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return tail(text, lines)
