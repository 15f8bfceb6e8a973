"""Why the registry domain refuses a command, or cannot fold a stream."""

from __future__ import annotations

from services.registry.domain.rules import RuleViolation


class DomainRejected(Exception):
    """The command breaks registration rules; carries every violation found, not just the first."""

    def __init__(self, violations: list[RuleViolation]) -> None:
        super().__init__("; ".join(f"{v.field}: {v.code}" for v in violations))
        self.violations = violations


class InvalidTransition(Exception):
    """The command is not allowed in the agency's current registration status (or existence)."""

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
