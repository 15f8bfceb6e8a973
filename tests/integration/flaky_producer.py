"""A Kafka producer whose first hand-overs fail, for the tests of what a publisher does then (the
relay, the dead-letter publisher): nothing of a failed hand-over reaches the broker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, KafkaError


def unreachable() -> KafkaError:
    return KafkaConnectionError("broker unreachable (simulated)")


class FlakyProducer:
    """Fails the first `failures` hand-overs (a record, a batch, a record awaited), then
    delegates. A failure raises `error()` at the hand-over, as an unreachable broker does; or,
    `in_delivery`, comes back as the delivery's future failing with it, as a batch the broker
    never acknowledged (it expired in the producer)."""

    def __init__(
        self,
        real: AIOKafkaProducer,
        failures: int,
        error: Callable[[], KafkaError] = unreachable,
        in_delivery: bool = False,
    ) -> None:
        self.real, self.failures, self.error, self.in_delivery = real, failures, error, in_delivery

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)  # partitions_for, create_batch

    def _failed(self) -> asyncio.Future[Any] | None:
        """The failed delivery of this hand-over, if it fails (raised unless `in_delivery`)."""
        if self.failures <= 0:
            return None
        self.failures -= 1
        if not self.in_delivery:
            raise self.error()
        delivery: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        delivery.set_exception(self.error())
        return delivery

    async def send(self, *args: Any, **kwargs: Any) -> object:
        failed = self._failed()
        return failed if failed is not None else await self.real.send(*args, **kwargs)

    async def send_batch(self, *args: Any, **kwargs: Any) -> object:
        failed = self._failed()
        return failed if failed is not None else await self.real.send_batch(*args, **kwargs)

    async def send_and_wait(self, *args: Any, **kwargs: Any) -> object:
        failed = self._failed()
        if failed is not None:
            return await failed
        return await self.real.send_and_wait(*args, **kwargs)
