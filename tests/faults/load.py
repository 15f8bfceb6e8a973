"""The load and its oracle: 16 clients that retry by idempotency key, and what they were told.

A client that gets no answer, or a 5xx, does not know whether its command was stored, so it
sends the same command with the same `Idempotency-Key` again (what docs/operations.md tells
integrators) until a 2xx arrives or the scenario gives up. Only a 2xx counts as accepted; the
event ids it carries are what the checks hold the platform to.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

CLIENTS = 16
# A retry of a command whose first attempt may still be running can meet that attempt: 409.
# It is retried like a 5xx a few times (the retry then gets the first answer), never forever.
CONFLICT_RETRIES = 10


@dataclass(frozen=True)
class Command:
    service: str
    route: str  # POST /commands/<route>
    body: dict[str, Any]
    key: str  # Idempotency-Key, and X-Correlation-ID so the store can be searched by command


@dataclass
class Oracle:
    """What the clients were told, command by command."""

    accepted: dict[str, tuple[str, ...]] = field(default_factory=dict)  # key -> event ids
    accepted_types: dict[str, tuple[str, ...]] = field(default_factory=dict)
    commands: dict[str, Command] = field(default_factory=dict)  # every command sent at least once
    refused: dict[str, str] = field(default_factory=dict)  # key -> status and problem
    gave_up: set[str] = field(default_factory=set)
    answers: Counter[str] = field(default_factory=Counter)  # status (or "none") per attempt
    finished: bool = False  # the burst is over: nothing more will be accepted
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def accept(self, command: Command, answer: dict[str, Any]) -> None:
        events = answer["events"]
        self.accepted[command.key] = tuple(str(e["event_id"]) for e in events)
        self.accepted_types[command.key] = tuple(str(e["type"]) for e in events)
        self._changed.set()

    def finish(self) -> None:
        self.finished = True
        self._changed.set()

    async def wait_accepted(self, count: int) -> None:
        """Until `count` commands are accepted, or the burst is over (then it never will be)."""
        while len(self.accepted) < count and not self.finished:
            self._changed.clear()
            await self._changed.wait()

    def penalties(self) -> list[str]:
        """Event ids of the accepted penalties (all suspensions: the registry follows each once)."""
        return [
            event_id
            for key, types in self.accepted_types.items()
            for event_id, type_key in zip(self.accepted[key], types, strict=True)
            if type_key.startswith("PenaltyImposed.")
        ]


Route = Callable[[str], str]  # service -> base URL of the instance to try now


async def send(
    client: httpx.AsyncClient,
    command: Command,
    oracle: Oracle,
    route: Route,
    headers: dict[str, str],
    deadline: float,
) -> bool:
    """Send until a 2xx (True), a refusal or the deadline (False)."""
    oracle.commands[command.key] = command
    request_headers = {
        **headers,
        "Idempotency-Key": command.key,
        "X-Correlation-ID": command.key,
    }
    attempt = 0
    while True:
        attempt += 1
        url = f"{route(command.service)}/commands/{command.route}"
        try:
            response = await client.post(url, json=command.body, headers=request_headers)
        except httpx.HTTPError:
            response = None  # no answer: the outcome is unknown, so the same key goes again
        oracle.answers["none" if response is None else str(response.status_code)] += 1
        if response is not None:
            status = response.status_code
            if 200 <= status < 300:
                oracle.accept(command, response.json())
                return True
            retry_conflict = status == 409 and 1 < attempt <= CONFLICT_RETRIES
            if status < 500 and not retry_conflict:
                oracle.refused[command.key] = f"{status} {response.text[:300]}"
                return False
        if time.monotonic() > deadline:
            oracle.gave_up.add(command.key)
            return False
        await asyncio.sleep(min(0.05 * 2**attempt, 1.0))


async def burst(
    chains: Sequence[Sequence[Command]],
    oracle: Oracle,
    route: Route,
    headers: dict[str, str],
    *,
    give_up_after: float,
) -> None:
    """16 clients take chains from one queue; a chain's commands go in order (one stream).

    A chain stops at its first command that is not accepted: the next would act on a stream
    that is not in the state it expects.
    """
    queue = list(reversed(chains))
    deadline = time.monotonic() + give_up_after

    async def client_loop() -> None:
        # Each client is its own httpx client (own connections), like 16 separate callers.
        async with httpx.AsyncClient(timeout=20.0) as client:
            while queue:
                chain = queue.pop()
                for command in chain:
                    if not await send(client, command, oracle, route, headers, deadline):
                        break

    await asyncio.gather(*(client_loop() for _ in range(CLIENTS)))
