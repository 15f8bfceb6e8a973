"""The Python side of benchmarks/openloop.c: build it, write its requests, read its answers.

The binary is built with gcc into build/openloop/ (outside git) when absent or older than its
source; the file format is described at the top of openloop.c.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
SOURCE = BENCH_DIR / "openloop.c"
BINARY = BENCH_DIR.parent / "build" / "openloop" / "openloop"
CFLAGS = ("-O2", "-Wall", "-Wextra", "-Werror")


def build() -> Path:
    """The generator's binary, compiled first if it is absent or stale."""
    if BINARY.exists() and BINARY.stat().st_mtime >= SOURCE.stat().st_mtime:
        return BINARY
    BINARY.parent.mkdir(parents=True, exist_ok=True)
    partial = BINARY.with_suffix(".partial")
    compile_it = ["gcc", *CFLAGS, "-o", str(partial), str(SOURCE)]
    subprocess.run(compile_it, check=True)  # noqa: S603 - our own source, fixed flags
    partial.replace(BINARY)  # a concurrent run never sees half a binary
    return BINARY


@dataclass(frozen=True, slots=True)
class Request:
    target: int  # index into the targets written with it
    offset_ns: int  # when to send it, after the run's start
    raw: bytes  # the whole HTTP/1.1 request


@dataclass(frozen=True, slots=True)
class Answer:
    index: int
    status: int  # 0: no answer (the body says why)
    scheduled_ns: int  # time.monotonic_ns() clock
    sent_ns: int  # 0 when never sent
    answered_ns: int
    body: bytes

    @property
    def latency_ms(self) -> float:
        """From the scheduled instant, not the send (a late send is the system's delay)."""
        return (self.answered_ns - self.scheduled_ns) / 1e6


def http_request(
    host: str, method: str, path: str, headers: Mapping[str, str], body: bytes
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def write_requests(
    path: Path, targets: Sequence[tuple[str, int]], requests: Iterable[Request]
) -> None:
    chunks = [f"targets {len(targets)}\n".encode()]
    chunks += [f"{host} {port}\n".encode() for host, port in targets]
    listed = list(requests)
    chunks.append(f"requests {len(listed)}\n".encode())
    for r in listed:
        chunks += [f"{r.target} {r.offset_ns} {len(r.raw)}\n".encode(), r.raw]
    path.write_bytes(b"".join(chunks))


class Generator:
    """One run of the generator over a request file, its answers read as they come."""

    def __init__(
        self, requests: Path, *, start_ns: int, max_conns: int = 64, timeout_s: float = 60.0
    ) -> None:
        self.args = [str(requests), "-s", str(start_ns), "-c", str(max_conns)]
        self.args += ["-t", str(timeout_s)]
        self.cpu_seconds = 0.0  # user + system, reported by the generator when it ends

    async def answers(self) -> AsyncIterator[Answer]:
        proc = await asyncio.create_subprocess_exec(
            str(build()), *self.args, stdout=asyncio.subprocess.PIPE
        )
        assert proc.stdout is not None
        ended = False
        try:
            while line := await proc.stdout.readline():
                fields = line.split()
                if fields[0] == b"cpu":
                    self.cpu_seconds = float(fields[1]) + float(fields[2])
                    continue
                index, status, scheduled, sent, answered, length = map(int, fields)
                body = (await proc.stdout.readexactly(length + 1))[:-1]
                yield Answer(index, status, scheduled, sent, answered, body)
            ended = True
        finally:
            if not ended and proc.returncode is None:
                proc.kill()  # the reader gave up: so does the generator
            code = await proc.wait()
        if code != 0:
            raise RuntimeError(f"openloop exited with {code}")
