"""How a pure domain says no. Shared so every API maps refusals to the same HTTP problems.

Pure: no I/O. `DomainRejected` (rules broken, every violation listed) becomes 422;
`InvalidTransition` becomes 404 when its code ends in `_not_found`, else 409. `EventOutOfOrder`
is not a refusal: a stored stream that cannot be folded (a defect, never a caller's mistake).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, get_args


@dataclass(frozen=True, slots=True)
class RuleViolation:
    """One broken rule: a stable code, the command field it concerns, and messages for people."""

    code: str
    field: str
    message_zh: str
    message_en: str


class DomainRejected(Exception):
    """The command breaks rules; carries every violation found, not just the first."""

    def __init__(self, violations: list[RuleViolation]) -> None:
        super().__init__("; ".join(f"{v.field}: {v.code}" for v in violations))
        self.violations = violations


class InvalidTransition(Exception):
    """The command is not allowed in the aggregate's current state (or it does not exist)."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en


class EventOutOfOrder(Exception):
    """A stored event cannot follow the state folded so far (a corrupt or misrouted stream)."""


def reject_any(violations: list[RuleViolation]) -> None:
    """Raise DomainRejected with all the violations, if there are any."""
    if violations:
        raise DomainRejected(violations)


def event_narrowing(union: Any, events: str) -> Callable[[Any], Any]:
    """A function that narrows a loaded event to a domain's union of events, or TypeError.

    Typed where it is bound: `as_x_event: Callable[[DomainEvent], XEvent] = event_narrowing(...)`.
    """

    def narrow(event: Any) -> Any:
        if isinstance(event, union):
            return event
        raise TypeError(f"not {events} event: {event.type_key()}")

    return narrow


def violation_if(
    broken: bool, code: str, field: str, message_zh: str, message_en: str
) -> list[RuleViolation]:
    """One violation when `broken`, else none: checks then add up with `+` instead of branching."""
    return [RuleViolation(code, field, message_zh, message_en)] if broken else []


Handler = TypeVar("Handler")


def exhaustive(
    union: Any, table: dict[type, Handler], apart: tuple[type, ...] = ()
) -> dict[type, Handler]:
    """`table` itself once it has one entry per member of `union` (bar those handled `apart`,
    such as a stream's first event), else TypeError.

    For an evolve's handlers keyed by event type: a missing event fails at import, as a match
    without its case fails `assert_never` under mypy.
    """
    members = set(get_args(union)) - set(apart)
    if set(table) != members:
        missing = sorted(c.__name__ for c in members - set(table))
        extra = sorted(c.__name__ for c in set(table) - members)
        raise TypeError(f"handlers missing for {missing}, unknown {extra}")
    return table


Value = TypeVar("Value")


def present(value: Value | None, error: Exception) -> Value:
    """`value`, or `error` raised when there is none (a stream or a record not found)."""
    if value is None:
        raise error
    return value
