"""The given/when/then helper itself: each check can fail, and no refusal goes unseen."""

from __future__ import annotations

import pytest

from servicekit.decisions import DomainRejected, InvalidTransition, RuleViolation
from tests.domain_spec import DomainSpec


def _decide(state: int | None, command: int, limit: int) -> list[int]:
    """A toy domain: add `command` to a total that starts at 0 and may not pass `limit`."""
    if command == 0:
        raise InvalidTransition("nothing_to_add", "无", "nothing to add")
    if (state or 0) + command > limit:
        raise DomainRejected([RuleViolation("over_limit", "amount", "超限", "over the limit")])
    return [command]


def _evolve(state: int | None, event: int) -> int:
    return (state or 0) + event


TOTALS: DomainSpec[int, int, int] = DomainSpec(_decide, _evolve)


def test_accepted_events_join_the_history() -> None:
    given = TOTALS.given(1, 2, context=10)
    given.when(3).then(3)
    assert given.state == 6 and given.history == [1, 2, 3]


def test_then_fails_on_other_events() -> None:
    with pytest.raises(AssertionError):
        TOTALS.given(context=10).when(3).then(4)


def test_a_refusal_is_checked_by_code() -> None:
    given = TOTALS.given(9, context=10)
    given.when(2).then_rejected("over_limit")
    given.when(0).then_refused("nothing_to_add")
    assert given.state == 9
    with pytest.raises(AssertionError):
        TOTALS.given(9, context=10).when(2).then_rejected("another_code")
    with pytest.raises(AssertionError):
        TOTALS.given(context=10).when(1).then_rejected()


def test_an_unchecked_refusal_is_raised_by_the_next_step() -> None:
    given = TOTALS.given(9, context=10)
    given.when(2)
    with pytest.raises(AssertionError, match="refused unchecked"):
        given.when(1)
    with pytest.raises(AssertionError, match="refused unchecked"):
        _ = given.state


def test_the_events_of_a_refused_command_cannot_be_read() -> None:
    then = TOTALS.given(9, context=10).when(2)
    with pytest.raises(DomainRejected):
        _ = then.events
    with pytest.raises(AssertionError):
        then.then_accepted()
