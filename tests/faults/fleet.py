"""The four services as real OS processes (what a container runs), several instances if asked."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.integration.processes import ServiceProcess


@dataclass
class Fleet:
    env: dict[str, str]
    log_dir: Path
    instances: dict[str, list[ServiceProcess]] = field(default_factory=dict)
    _turn: dict[str, Iterator[int]] = field(default_factory=dict)

    def add(self, service: str, count: int = 1) -> None:
        for n in range(count):
            log = self.log_dir / f"{service}-{n}.log"
            self.instances.setdefault(service, []).append(
                ServiceProcess(f"services.{service}", self.env, log)
            )
        self._turn[service] = itertools.cycle(range(len(self.instances[service])))

    async def start(self) -> None:
        """The first instance of every service at once, then the others (a scale-up).

        Not all at once: two instances of one service creating its tables on an empty database
        race (`CREATE TABLE IF NOT EXISTS` is not atomic) and one fails to start — a defect of
        its own, apart from what the scenarios test.
        """
        groups = list(self.instances.values())
        await asyncio.gather(*(asyncio.to_thread(g[0].start, 120.0) for g in groups))
        await asyncio.gather(
            *(asyncio.to_thread(p.start, 120.0) for g in groups for p in g[1:]),
        )

    def processes(self) -> list[ServiceProcess]:
        return [p for group in self.instances.values() for p in group]

    def url(self, service: str) -> str:
        """Round robin over the instances, as a load balancer would; a retry tries the next."""
        group = self.instances[service]
        return group[next(self._turn[service])].url

    def first(self, service: str) -> ServiceProcess:
        return self.instances[service][0]

    async def kill_and_restart(self, process: ServiceProcess) -> None:
        process.kill()
        await asyncio.to_thread(process.start, 120.0)

    def exited(self) -> list[str]:
        return [
            f"{p.module} (port {p.port}) exited with {p.proc.returncode}"
            for p in self.processes()
            if p.proc is not None and p.proc.poll() is not None
        ]

    async def not_ready(self) -> list[str]:
        """Instances whose /health/ready (what an orchestrator asks) does not answer 200."""
        found = []
        async with httpx.AsyncClient(timeout=10) as client:
            for process in self.processes():
                status: int | str
                try:
                    status = (await client.get(f"{process.url}/health/ready")).status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                if status != 200:
                    found.append(f"{process.module} (port {process.port}): {status}")
        return found

    def stop(self) -> None:
        for process in self.processes():
            process.stop_quietly()

    def log_summary(self, limit: int = 8) -> str:
        """The most frequent warning/error events of each log: what a failure report needs."""
        lines = []
        for process in self.processes():
            counts: Counter[str] = Counter()
            text = process.log_path.read_text(errors="replace") if process.log_path.exists() else ""
            for line in text.splitlines():
                counts[_event_of(line)] += 1
            counts.pop("", None)
            top = ", ".join(f"{event} ×{n}" for event, n in counts.most_common(limit))
            lines.append(f"  {process.log_path.name}: {top or 'nothing logged'}")
        return "\n".join(lines)


def _event_of(line: str) -> str:
    """`event` (with `error`'s start) of a JSON log line; the first words of a plain one."""
    try:
        record = json.loads(line)
    except ValueError:
        stripped = line.strip()
        if not stripped or stripped.startswith(("File ", "^", "Traceback", "|", "+")):
            return ""
        return stripped[:80]
    if not isinstance(record, dict):
        return ""
    event = str(record.get("event", ""))
    detail = record.get("error") or record.get("reason") or record.get("exception") or ""
    if detail:
        event += f" ({str(detail).splitlines()[-1][:100]})"
    return event
