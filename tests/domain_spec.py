"""Given events / when a command / then events (or a refusal): the one style of domain test.

A `DomainSpec` binds a domain's pure `decide` and `evolve`. `spec.given(*events)` folds a history
(or `given_state` starts from a folded state); `.when(command)` decides on it as the service does
and, when the command is accepted, folds its events into the history, so a test can go on with
the next command. What `.when` gives back is checked with `.then(*events)`, `.then_accepted()`,
`.then_types(*names)`, `.then_rejected(*codes)` (rules broken, 422) or `.then_refused(code)`
(not allowed now, 404/409); `.events` and `.state` give the outcome to assert on further.

A refusal nobody checked is not lost: reading `.events` or `.state` raises it, and so does the
next `.when` on the same history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from servicekit.decisions import DomainRejected, InvalidTransition

S = TypeVar("S")  # the folded state of one stream
C = TypeVar("C")  # the domain's commands
X = TypeVar("X")  # what a decision needs beyond its stream (a Situation, a KnownAgency, None)


@dataclass(frozen=True)
class DomainSpec(Generic[S, C, X]):
    """A domain's decide(state, command, context) and evolve(state, event)."""

    decide: Callable[[S | None, C, X], Sequence[Any]]
    evolve: Callable[[S | None, Any], S]

    def given(self, *events: Any, context: X) -> Given[S, C, X]:
        """Given these events, in this order."""
        state: S | None = None
        for event in events:
            state = self.evolve(state, event)
        return Given(self, state, context, list(events))

    def given_state(self, state: S | None, context: X) -> Given[S, C, X]:
        """Given a state already folded (or None: the stream does not exist yet)."""
        return Given(self, state, context)


class Given(Generic[S, C, X]):
    """A stream's history so far and what its decisions see beyond it (`context`)."""

    def __init__(
        self,
        spec: DomainSpec[S, C, X],
        state: S | None,
        context: X,
        history: list[Any] | None = None,
    ) -> None:
        self.spec = spec
        self.context = context
        self.history = history or []
        self._state = state
        self._last: Then[S] | None = None

    @property
    def state(self) -> S | None:
        """The state after every accepted command (a refusal nobody checked is raised here)."""
        self._no_unchecked_refusal()
        return self._state

    def when(self, command: C) -> Then[S]:
        """Decide on the history; an accepted command's events join it."""
        self._no_unchecked_refusal()
        try:
            events = list(self.spec.decide(self._state, command, self.context))
        except (DomainRejected, InvalidTransition) as refusal:
            self._last = Then([], self._state, refusal)
            return self._last
        for event in events:
            self._state = self.spec.evolve(self._state, event)
        self.history += events
        self._last = Then(events, self._state)
        return self._last

    def _no_unchecked_refusal(self) -> None:
        if self._last is not None and not self._last.checked:
            raise AssertionError("a command was refused unchecked") from self._last.refusal


class Then(Generic[S]):
    """The outcome of one command: its events and the state after them, or its refusal."""

    def __init__(
        self,
        events: list[Any],
        state: S | None,
        refusal: DomainRejected | InvalidTransition | None = None,
    ) -> None:
        self._events = events
        self._state = state
        self.refusal = refusal
        self.checked = refusal is None

    @property
    def events(self) -> list[Any]:
        """The events (typed loosely, so that a test reads any event's fields)."""
        if self.refusal is not None:
            raise self.refusal
        return self._events

    @property
    def state(self) -> S:
        """The state after the events."""
        if self.refusal is not None:
            raise self.refusal
        assert self._state is not None
        return self._state

    @property
    def outcome(self) -> tuple[list[Any], S]:
        """(events, state after them)."""
        return self.events, self.state

    def then_accepted(self) -> Then[S]:
        """Accepted, whatever its events (a step on the way to what the test checks)."""
        assert self.refusal is None, f"refused: {self.refusal!r}"
        return self

    def then(self, *expected: Any) -> Then[S]:
        """Exactly these events, in this order."""
        assert self.events == list(expected)
        return self

    def then_types(self, *names: str) -> Then[S]:
        """Events of exactly these types, in this order."""
        assert event_types(self.events) == list(names)
        return self

    def then_rejected(self, *codes: str) -> DomainRejected:
        """Rules broken (422); with `codes`, exactly the violations with those codes."""
        assert isinstance(self.refusal, DomainRejected), f"not rejected: {self._described()}"
        self.checked = True
        if codes:
            assert {v.code for v in self.refusal.violations} == set(codes)
        return self.refusal

    def then_refused(self, code: str | None = None) -> InvalidTransition:
        """Not allowed in the current state (404 or 409); with `code`, that refusal."""
        assert isinstance(self.refusal, InvalidTransition), f"not refused: {self._described()}"
        self.checked = True
        if code is not None:
            assert self.refusal.code == code
        return self.refusal

    def _described(self) -> str:
        if self.refusal is not None:
            return repr(self.refusal)
        return f"accepted with {[type(e).__name__ for e in self._events]}"


def event_types(events: Sequence[Any]) -> list[str]:
    """The type names of the events, in order."""
    return [e.event_type for e in events]
