"""Every published event type, and the upcasters that read old versions as the current one."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from socialwork_contracts import incubation, registry, supervision
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.upcasters import UPCASTERS

Payload = dict[str, Any]

# One module of events per producing service of the manifest (topics.MANIFEST); a test checks
# that the two agree, and that every class names its module's service as its producer.
PRODUCERS: tuple[ModuleType, ...] = (registry, incubation, supervision)
EVENT_CLASSES: tuple[type[DomainEvent], ...] = tuple(c for m in PRODUCERS for c in m.EVENTS)

BY_TYPE_KEY: Mapping[str, type[DomainEvent]] = {c.type_key(): c for c in EVENT_CLASSES}
CURRENT_VERSION: Mapping[str, int] = {
    name: max(c.event_version for c in EVENT_CLASSES if c.event_type == name)
    for name in {c.event_type for c in EVENT_CLASSES}
}


class UnknownEventType(LookupError):
    """A type name or version this catalog does not know (consumers skip it with a record)."""


def upcast(event_type: str, version: int, data: Payload) -> tuple[int, Payload]:
    """Apply upcasters until the payload has the current version of its type."""
    if event_type not in CURRENT_VERSION:
        raise UnknownEventType(f"{event_type}.v{version}")
    while version < CURRENT_VERSION[event_type]:
        step: Callable[[Payload], Payload] | None = UPCASTERS.get((event_type, version))
        if step is None:
            raise UnknownEventType(f"no upcaster from {event_type}.v{version}")
        data, version = step(data), version + 1
    if version > CURRENT_VERSION[event_type]:
        raise UnknownEventType(f"{event_type}.v{version} is newer than this catalog")
    return version, data


def load(event_type: str, version: int, data: Payload) -> DomainEvent:
    """Parse a stored or received payload as the current version of its event type."""
    version, data = upcast(event_type, version, data)
    return BY_TYPE_KEY[f"{event_type}.v{version}"].model_validate(data)
