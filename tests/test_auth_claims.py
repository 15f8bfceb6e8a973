"""Token claims: a well-formed subject, a bounded lifetime, iat required, a small clock leeway."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import jwt
import pytest
from pydantic import ValidationError

from servicekit.auth import (
    Role,
    TokenSettings,
    Unauthenticated,
    issue_token,
    main,
    token_settings_from,
    verify_token,
)
from servicekit.settings import ServiceSettings

SETTINGS = TokenSettings("key-0123456789abcdef0123456789abcdef", "iss", "aud")


def forge(settings: TokenSettings = SETTINGS, *, drop: tuple[str, ...] = (), **claims: Any) -> str:
    """A token signed with the right key, its claims chosen by the test (times relative to now)."""
    now = int(time.time())
    body: dict[str, Any] = {
        "sub": "li",
        "role": "auditor",
        "iss": settings.issuer,
        "aud": settings.audience,
        "iat": now,
        "exp": now + 3600,
    }
    body.update(claims)
    for name in drop:
        del body[name]
    return jwt.encode(body, settings.secret, algorithm="HS256")


@pytest.mark.parametrize(
    "subject",
    [
        "",
        "   ",
        "\t",
        "x" * 201,
        "x" * 10_000,
        "li\nrole=city_admin",
        "li\r",
        "li\x00",
        "li\x1b[31m",
        "\u202eli",  # right-to-left override: prints as another name
        "li\u2028",
        " li",
        "system:relay",
        "System:supervision-clock",
        12345,
        None,
    ],
)
def test_a_malformed_or_reserved_subject_is_refused(subject: object) -> None:
    with pytest.raises(Unauthenticated):
        verify_token(SETTINGS, forge(sub=subject))


@pytest.mark.parametrize("subject", ["li", "x" * 200, "张伟", "li@jinshui.gov.cn", "a system:b"])
def test_a_well_formed_subject_is_accepted(subject: str) -> None:
    assert verify_token(SETTINGS, forge(sub=subject)).subject == subject


def test_iat_is_required() -> None:
    with pytest.raises(Unauthenticated, match="iat"):
        verify_token(SETTINGS, forge(drop=("iat",)))


@pytest.mark.parametrize("name", ["iat", "exp"])
def test_times_must_be_numbers(name: str) -> None:
    claims: dict[str, Any] = {name: "soon"}
    with pytest.raises(Unauthenticated):
        verify_token(SETTINGS, forge(**claims))


def test_a_token_living_longer_than_the_maximum_is_refused() -> None:
    now = int(time.time())
    with pytest.raises(Unauthenticated, match="longer"):
        verify_token(SETTINGS, forge(iat=now, exp=now + 100 * 365 * 86400))
    with pytest.raises(Unauthenticated, match="longer"):
        verify_token(SETTINGS, forge(iat=now, exp=now + 12 * 3600 + 1))
    assert verify_token(SETTINGS, forge(iat=now, exp=now + 12 * 3600)).subject == "li"


def test_the_maximum_lifetime_is_configurable() -> None:
    short = TokenSettings(SETTINGS.secret, "iss", "aud", max_lifetime=dt.timedelta(hours=1))
    now = int(time.time())
    with pytest.raises(Unauthenticated, match="longer"):
        verify_token(short, forge(short, iat=now, exp=now + 3601))


def test_a_token_issued_a_few_seconds_in_the_future_is_accepted() -> None:
    """The issuer's clock runs 5 s ahead of ours."""
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    token = issue_token(SETTINGS, subject="li", role=Role.AUDITOR, now=ahead)
    assert verify_token(SETTINGS, token).subject == "li"
    assert verify_token(SETTINGS, forge(nbf=int(time.time()) + 5)).subject == "li"


def test_the_leeway_is_small() -> None:
    now = int(time.time())
    assert verify_token(SETTINGS, forge(iat=now - 3600, exp=now - 10)).subject == "li"
    with pytest.raises(Unauthenticated, match="expired"):
        verify_token(SETTINGS, forge(iat=now - 3600, exp=now - 31))
    with pytest.raises(Unauthenticated, match="not yet valid"):
        verify_token(SETTINGS, forge(iat=now + 120, exp=now + 3600))
    strict = TokenSettings(SETTINGS.secret, "iss", "aud", leeway=dt.timedelta(0))
    with pytest.raises(Unauthenticated, match="not yet valid"):
        verify_token(strict, forge(strict, iat=now + 5))


def test_the_leeway_is_at_most_a_minute() -> None:
    with pytest.raises(ValueError, match="leeway"):
        TokenSettings(SETTINGS.secret, "iss", "aud", leeway=dt.timedelta(seconds=61))


def test_the_issuer_refuses_what_the_verifier_would() -> None:
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(ValueError, match="reserved"):
        issue_token(SETTINGS, subject="system:relay", role=Role.CITY_ADMIN, now=now)
    with pytest.raises(ValueError, match="empty"):
        issue_token(SETTINGS, subject=" ", role=Role.CITY_ADMIN, now=now)
    with pytest.raises(ValueError, match="at most"):
        issue_token(SETTINGS, subject="li", role=Role.AUDITOR, now=now, ttl=dt.timedelta(hours=13))


def test_the_development_token_command_still_works(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUTH_JWT_SECRET", SETTINGS.secret)
    monkeypatch.setenv("AUTH_JWT_ISSUER", "iss")
    monkeypatch.setenv("AUTH_JWT_AUDIENCE", "aud")
    assert main(["issue", "--role", "unit_officer", "--unit", "jinshui", "--sub", "li"]) == 0
    principal = verify_token(SETTINGS, capsys.readouterr().out.strip())
    assert (principal.subject, principal.role, principal.unit) == (
        "li",
        Role.UNIT_OFFICER,
        "jinshui",
    )
    with pytest.raises(SystemExit):
        main(["issue", "--role", "auditor", "--sub", "li", "--hours", "13"])
    assert "at most" in capsys.readouterr().err


def service_settings(**env: str) -> ServiceSettings:
    """Settings as the environment would give them (model_validate: the test's values only)."""
    base = {"DATABASE_URL": "postgresql://x", "KAFKA_BOOTSTRAP_SERVERS": "x:9092"}
    return ServiceSettings.model_validate({**base, "AUTH_JWT_SECRET": SETTINGS.secret, **env})


def test_settings_reach_the_token_settings() -> None:
    settings = token_settings_from(
        service_settings(AUTH_JWT_MAX_LIFETIME_SECONDS="3600", AUTH_JWT_LEEWAY_SECONDS="10")
    )
    assert (settings.max_lifetime, settings.leeway) == (
        dt.timedelta(hours=1),
        dt.timedelta(seconds=10),
    )
    assert settings.jwks is None and settings.accept_hs256


@pytest.mark.parametrize(
    "env",
    [
        {"AUTH_JWT_LEEWAY_SECONDS": "61"},
        {"AUTH_JWT_MAX_LIFETIME_SECONDS": "0"},
        {"AUTH_JWKS_URL": "http://idp.example/jwks.json"},
        {"AUTH_JWKS_URL": "file:///etc/jwks.json"},
        {"AUTH_JWKS_URL": "https://idp.example/jwks.json", "AUTH_JWKS_FILE": "/etc/jwks.json"},
    ],
)
def test_unsafe_auth_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        service_settings(**env)
