"""Verified tokens are remembered by their exact text for their lifetime (issue 12: the JWT check
was a fixed cost of every command); expiry, the settings in force and refusals still hold."""

from __future__ import annotations

import datetime as dt

import pytest

from servicekit import auth
from servicekit.auth import Role, TokenSettings, Unauthenticated, VerifiedTokens, issue_token

NOW = dt.datetime.now(dt.UTC)
KEY = TokenSettings("key-0123456789abcdef0123456789abcd", "iss", "aud")
OTHER = TokenSettings("other-0123456789abcdef0123456789ab", "iss", "aud")


def counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = auth.verify_token

    def spy(settings: TokenSettings, token: str) -> auth.Principal:
        calls.append(token)
        return real(settings, token)

    monkeypatch.setattr(auth, "verify_token", spy)
    return calls


def test_a_verified_token_is_checked_once_while_it_lives(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting(monkeypatch)
    tokens = VerifiedTokens()
    token = issue_token(KEY, subject="li", role=Role.CITY_ADMIN, now=NOW)
    first = tokens.verify(KEY, token, now=NOW.timestamp())
    again = tokens.verify(KEY, token, now=NOW.timestamp() + 60)
    assert first == again and first.subject == "li"
    assert len(calls) == 1


def test_a_remembered_token_is_refused_once_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = VerifiedTokens()
    token = issue_token(KEY, subject="li", role=Role.CITY_ADMIN, now=NOW, ttl=dt.timedelta(hours=1))
    tokens.verify(KEY, token, now=NOW.timestamp())
    later = NOW + dt.timedelta(hours=1) + KEY.leeway + dt.timedelta(seconds=1)
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.verify(KEY, token, now=later.timestamp())


def test_other_settings_verify_again_and_refusals_are_not_remembered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = counting(monkeypatch)
    tokens = VerifiedTokens()
    token = issue_token(KEY, subject="li", role=Role.CITY_ADMIN, now=NOW)
    tokens.verify(KEY, token, now=NOW.timestamp())
    with pytest.raises(Unauthenticated):
        tokens.verify(OTHER, token, now=NOW.timestamp())  # e.g. the key was rotated away
    with pytest.raises(Unauthenticated):
        tokens.verify(OTHER, token, now=NOW.timestamp())
    assert len(calls) == 3


def test_the_memory_is_bounded() -> None:
    tokens = VerifiedTokens(capacity=3)
    for n in range(10):
        token = issue_token(KEY, subject=f"u{n}", role=Role.CITY_ADMIN, now=NOW)
        tokens.verify(KEY, token, now=NOW.timestamp())
    assert len(tokens) == 3
