"""Why the registry domain refuses a command, or cannot fold a stream."""

from __future__ import annotations

from servicekit.decisions import DomainRejected, InvalidTransition, RuleViolation, reject_any

__all__ = ["DomainRejected", "EventOutOfOrder", "InvalidTransition", "RuleViolation", "reject_any"]


class EventOutOfOrder(Exception):
    """A stored event cannot follow the state folded so far (a corrupt or misrouted stream)."""
