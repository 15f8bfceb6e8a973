"""Bearer tokens: scopes, expiry, and a key rotation with the previous key still accepted."""

from __future__ import annotations

import datetime as dt

import pytest

from servicekit.auth import Role, TokenSettings, Unauthenticated, issue_token, verify_token

NOW = dt.datetime.now(dt.UTC)
OLD = TokenSettings("old-key-0123456789abcdef0123456789", "iss", "aud")
NEW = TokenSettings("new-key-0123456789abcdef0123456789", "iss", "aud")


def test_a_token_signed_with_the_previous_key_passes_only_during_the_rotation() -> None:
    token = issue_token(OLD, subject="li", role=Role.UNIT_OFFICER, unit="jinshui", now=NOW)
    rotating = TokenSettings(NEW.secret, "iss", "aud", previous_secret=OLD.secret)
    principal = verify_token(rotating, token)
    assert (principal.subject, principal.unit) == ("li", "jinshui")
    with pytest.raises(Unauthenticated):
        verify_token(NEW, token)  # rotation finished: the old key is gone


def test_an_expired_token_is_refused_even_with_the_right_key() -> None:
    token = issue_token(NEW, subject="li", role=Role.AUDITOR, now=NOW - dt.timedelta(hours=9))
    with pytest.raises(Unauthenticated, match="expired"):
        verify_token(NEW, token)


def test_scoped_roles_need_their_scope_and_system_is_never_issued() -> None:
    with pytest.raises(ValueError, match="reporting unit"):
        issue_token(NEW, subject="x", role=Role.UNIT_OFFICER, now=NOW)
    with pytest.raises(ValueError, match="base"):
        issue_token(NEW, subject="x", role=Role.BASE_OPERATOR, now=NOW)
    with pytest.raises(ValueError, match="internal"):
        issue_token(NEW, subject="x", role=Role.SYSTEM, now=NOW)
