"""Bearer-token authentication and role/locality-scoped authorisation, shared by every API.

Tokens are JWTs with the claims `sub`, `role`, `iat`, `exp`, and `unit` (reporting unit) or
`base` for scoped roles. Development tokens are HS256, signed with AUTH_JWT_SECRET; an identity
provider's RS256/ES256 tokens are verified with the public keys of its JWKS, chosen by `kid`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
import structlog

if TYPE_CHECKING:
    from servicekit.settings import ServiceSettings

log = structlog.get_logger()

MAX_SUBJECT_LENGTH = 200
# Actors named `system:…` are the services' own process managers (servicekit/process.py).
SYSTEM_SUBJECT_PREFIX = "system:"
MAX_LEEWAY = dt.timedelta(seconds=60)
IDENTITY_PROVIDER_ALGORITHMS = frozenset({"RS256", "ES256"})
# Unicode categories a subject may not contain: controls (newline, tab, escape), format
# characters (bidirectional overrides that make an actor print as another) and line separators.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


class Role(StrEnum):
    CITY_ADMIN = "city_admin"  # 市局管理员: the whole city
    UNIT_OFFICER = "unit_officer"  # 县（市、区）民政干部: one reporting unit
    BASE_OPERATOR = "base_operator"  # 孵化基地运营方: one base
    AUDITOR = "auditor"  # 审计: reads everything, writes nothing
    INTEGRATOR = "integrator"  # 对接系统: reads events and reports only
    SYSTEM = "system"  # a service's own process manager; never issued as a token


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    unit: str | None = None
    base: str | None = None


class Unauthenticated(Exception):
    """No token, or one that is invalid or expired (HTTP 401)."""


class Forbidden(Exception):
    """Authenticated, but outside the caller's role or scope (HTTP 403)."""


class JwksKeys:
    """An identity provider's public signing keys (a JWKS), cached and rotated by `kid`.

    The set is fetched on first use and again after `lifespan` seconds. A `kid` not in the set
    (the provider rotated its keys) triggers one refresh, at most once per `cooldown` seconds,
    so a flood of tokens with invented kids cannot turn into a flood of fetches. A failed fetch
    keeps the keys already held.
    """

    def __init__(
        self,
        fetch: Callable[[], Mapping[str, Any]],
        *,
        lifespan: float = 300.0,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch, self._lifespan, self._cooldown, self._clock = fetch, lifespan, cooldown, clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._checked_at = -math.inf  # last fetch attempt, successful or not
        # A thread lock (FastAPI runs the sync auth dependency in its thread pool, never on the
        # event loop): concurrent verifications share one fetch instead of each starting one.
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: Path, *, lifespan: float = 300.0) -> JwksKeys:
        """Keys from a JWKS file, re-read after `lifespan` so a replaced file is picked up."""

        def read() -> Mapping[str, Any]:
            document = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(document, dict):
                raise ValueError(f"{path} is not a JWKS object")
            return document

        return cls(read, lifespan=lifespan)

    @classmethod
    def from_url(cls, url: str, *, lifespan: float = 300.0, timeout: float = 5.0) -> JwksKeys:
        """Keys from a JWKS URL, fetched by PyJWKClient (no redirects, http(s) only)."""
        client = jwt.PyJWKClient(url, cache_jwk_set=False, timeout=timeout)
        return cls(client.fetch_data, lifespan=lifespan)

    def key(self, kid: str) -> jwt.PyJWK:
        """The signing key with this `kid`, or Unauthenticated."""
        with self._lock:
            now = self._clock()
            if now - self._checked_at >= (self._lifespan if self._keys else self._cooldown):
                self._refresh(now)
            if kid not in self._keys and now - self._checked_at >= self._cooldown:
                self._refresh(now)
            found = self._keys.get(kid)
        if found is None:
            raise Unauthenticated(f"no signing key with kid {kid[:64]!r}")  # kid is the caller's
        return found

    def _refresh(self, now: float) -> None:
        self._checked_at = now
        try:
            key_set = jwt.PyJWKSet.from_dict(dict(self._fetch()))
        except (jwt.PyJWTError, OSError, ValueError) as exc:
            log.warning("jwks_fetch_failed", error=str(exc), keys_kept=len(self._keys))
            return
        self._keys = {
            key.key_id: key
            for key in key_set.keys
            if key.key_id
            and key.public_key_use in ("sig", None)
            and key.algorithm_name in IDENTITY_PROVIDER_ALGORITHMS
        }


@dataclass(frozen=True)
class TokenSettings:
    secret: str
    issuer: str
    audience: str
    # During a key rotation, tokens signed with the previous key stay valid until they expire;
    # new tokens are always signed with `secret`.
    previous_secret: str | None = None
    # A stolen token is useful until it expires: refuse any that lives longer than this.
    max_lifetime: dt.timedelta = dt.timedelta(hours=12)
    # Clock skew between the issuer and us, allowed on exp, iat and nbf.
    leeway: dt.timedelta = dt.timedelta(seconds=30)
    # An identity provider's keys (RS256/ES256); None accepts development tokens only.
    jwks: JwksKeys | None = None
    # Whether HS256 tokens signed with `secret` are accepted (development, `./dev token`).
    accept_hs256: bool = True

    def __post_init__(self) -> None:
        if not dt.timedelta(0) <= self.leeway <= MAX_LEEWAY:
            raise ValueError(f"leeway must be between 0 and {MAX_LEEWAY.seconds} s")
        if self.max_lifetime <= dt.timedelta(0):
            raise ValueError("the maximum token lifetime must be positive")


def token_settings_from(settings: ServiceSettings) -> TokenSettings:
    """A service's token settings; make it once per process, as its JWKS cache must persist."""
    previous = settings.auth_jwt_previous_secret
    return TokenSettings(
        settings.auth_jwt_secret.get_secret_value(),
        settings.auth_jwt_issuer,
        settings.auth_jwt_audience,
        previous.get_secret_value() if previous is not None else None,
        max_lifetime=dt.timedelta(seconds=settings.auth_jwt_max_lifetime_seconds),
        leeway=dt.timedelta(seconds=settings.auth_jwt_leeway_seconds),
        jwks=_jwks_from(settings),
        # Once an identity provider issues the tokens, a leaked shared secret must not mint more.
        accept_hs256=(settings.auth_jwks_url is None and settings.auth_jwks_file is None)
        or settings.auth_jwt_allow_hs256_with_jwks,
    )


def _jwks_from(settings: ServiceSettings) -> JwksKeys | None:
    lifespan = settings.auth_jwks_cache_seconds
    if settings.auth_jwks_url is not None:
        return JwksKeys.from_url(settings.auth_jwks_url, lifespan=lifespan)
    if settings.auth_jwks_file is not None:
        return JwksKeys.from_file(settings.auth_jwks_file, lifespan=lifespan)
    return None


def subject_problem(subject: object) -> str | None:
    """Why `subject` may not name an actor in events and logs, or None if it may."""
    if not isinstance(subject, str) or not subject.strip():
        return "sub is empty"
    if len(subject) > MAX_SUBJECT_LENGTH:
        return f"sub is longer than {MAX_SUBJECT_LENGTH} characters"
    if subject != subject.strip():
        return "sub has leading or trailing whitespace"
    if any(unicodedata.category(c) in _FORBIDDEN_CATEGORIES for c in subject):
        return "sub contains control characters"
    if subject.casefold().startswith(SYSTEM_SUBJECT_PREFIX):
        return f"sub {SYSTEM_SUBJECT_PREFIX}… is reserved for the services' process managers"
    return None


def issue_token(
    settings: TokenSettings,
    *,
    subject: str,
    role: Role,
    unit: str | None = None,
    base: str | None = None,
    now: dt.datetime,
    ttl: dt.timedelta = dt.timedelta(hours=8),
) -> str:
    if role is Role.SYSTEM:
        raise ValueError("the system role is internal to the services")
    if role is Role.UNIT_OFFICER and not unit:
        raise ValueError("a unit officer's token needs a reporting unit")
    if role is Role.BASE_OPERATOR and not base:
        raise ValueError("a base operator's token needs a base")
    if problem := subject_problem(subject):
        raise ValueError(problem)
    if ttl > settings.max_lifetime:
        raise ValueError(f"a token may live at most {settings.max_lifetime}")
    claims: dict[str, object] = {
        "sub": subject,
        "role": role.value,
        "iss": settings.issuer,
        "aud": settings.audience,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    if unit:
        claims["unit"] = unit
    if base:
        claims["base"] = base
    return jwt.encode(claims, settings.secret, algorithm="HS256")


def verify_token(settings: TokenSettings, token: str) -> Principal:
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(str(exc)) from exc
    if algorithm == "HS256" and settings.accept_hs256:
        claims = _decode_hs256(settings, token)
    elif algorithm in IDENTITY_PROVIDER_ALGORITHMS and settings.jwks is not None:
        claims = _decode_signed_by_provider(settings, settings.jwks, token, str(algorithm))
    else:
        raise Unauthenticated(f"tokens signed with {algorithm!r} are not accepted")
    _check_lifetime(settings, claims)
    return _principal(claims)


class VerifiedTokens:
    """Tokens already verified, by their exact text, until they expire (issue 12: checking the
    signature was a fixed CPU cost of every request).

    A token is remembered only after `verify_token` accepted it, only for the settings object
    that accepted it (a rotated key or another JWKS verifies again), and only until its `exp`
    plus the leeway `verify_token` allows; a refused token is never remembered.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._known: dict[str, tuple[TokenSettings, Principal, float]] = {}
        self._lock = threading.Lock()  # verify() may run in a worker thread (JWKS fetch)

    def __len__(self) -> int:
        return len(self._known)

    def remembered(
        self, settings: TokenSettings, token: str, *, now: float | None = None
    ) -> Principal | None:
        """The principal of a token verified before under `settings`, None if not known."""
        at = time.time() if now is None else now
        known = self._known.get(token)
        if known is None:
            return None
        accepted_by, principal, expires = known
        if accepted_by is settings and at < expires:
            return principal
        with self._lock:
            self._known.pop(token, None)
        if accepted_by is settings:
            raise Unauthenticated("Signature has expired")
        return None

    def verify(self, settings: TokenSettings, token: str, *, now: float | None = None) -> Principal:
        principal = self.remembered(settings, token, now=now)
        if principal is not None:
            return principal
        principal = verify_token(settings, token)
        # verify_token enforced exp; read it again to know how long the answer holds.
        exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
        if isinstance(exp, int | float) and not isinstance(exp, bool):
            with self._lock:
                while len(self._known) >= self.capacity:
                    del self._known[next(iter(self._known))]  # the oldest first
                self._known[token] = (settings, principal, exp + settings.leeway.total_seconds())
        return principal


def _decode(settings: TokenSettings, token: str, key: str | jwt.PyJWK, algorithm: str) -> Any:
    return jwt.decode(
        token,
        key,
        algorithms=[algorithm],
        audience=settings.audience,
        issuer=settings.issuer,
        leeway=settings.leeway,
        options={"require": ["sub", "role", "iat", "exp"]},
    )


def _decode_hs256(settings: TokenSettings, token: str) -> dict[str, object]:
    keys = [settings.secret] + ([settings.previous_secret] if settings.previous_secret else [])
    error: Exception | None = None
    for key in keys:
        try:
            return dict(_decode(settings, token, key, "HS256"))
        except jwt.InvalidSignatureError as exc:
            error = exc  # perhaps signed with the previous key: try it
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(str(exc)) from exc
    raise Unauthenticated(str(error)) from error


def _decode_signed_by_provider(
    settings: TokenSettings, jwks: JwksKeys, token: str, algorithm: str
) -> dict[str, object]:
    kid = jwt.get_unverified_header(token).get("kid")
    if not isinstance(kid, str) or not kid:
        raise Unauthenticated("token has no kid")
    try:
        return dict(_decode(settings, token, jwks.key(kid), algorithm))
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(str(exc)) from exc


def _check_lifetime(settings: TokenSettings, claims: Mapping[str, object]) -> None:
    if _seconds(claims, "exp") - _seconds(claims, "iat") > settings.max_lifetime.total_seconds():
        raise Unauthenticated(f"token lives longer than {settings.max_lifetime}")


def _seconds(claims: Mapping[str, object], name: str) -> float:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unauthenticated(f"{name} must be a number")
    return float(value)


def _principal(claims: Mapping[str, object]) -> Principal:
    subject = claims["sub"]
    if problem := subject_problem(subject):
        raise Unauthenticated(problem)
    try:
        role = Role(str(claims["role"]))
    except ValueError as exc:
        raise Unauthenticated(str(exc)) from exc
    if role is Role.SYSTEM:
        raise Unauthenticated("the system role is not given to callers")
    unit, base = claims.get("unit"), claims.get("base")
    principal = Principal(
        str(subject),
        role,
        unit if isinstance(unit, str) else None,
        base if isinstance(base, str) else None,
    )
    if (role is Role.UNIT_OFFICER and not principal.unit) or (
        role is Role.BASE_OPERATOR and not principal.base
    ):
        raise Unauthenticated("token lacks the scope its role needs")
    return principal


def require_role(principal: Principal, allowed: frozenset[Role], action: str) -> None:
    if principal.role not in allowed:
        raise Forbidden(f"role {principal.role.value} may not {action}")


def require_unit(principal: Principal, unit: str, action: str) -> None:
    """Unit officers act only in their own reporting unit; city administrators everywhere."""
    if principal.role is Role.CITY_ADMIN:
        return
    if principal.role is Role.UNIT_OFFICER and principal.unit == unit:
        return
    raise Forbidden(f"{principal.subject} ({principal.role.value}) may not {action} in unit {unit}")


def require_base(principal: Principal, base: str, unit: str, action: str) -> None:
    """Base operators act only on their base; unit officers on bases of their unit."""
    if principal.role is Role.BASE_OPERATOR and principal.base == base:
        return
    require_unit(principal, unit, action)


def main(argv: list[str] | None = None) -> int:
    """`python -m servicekit.auth issue --role ... [--unit ...|--base ...] --sub NAME`."""
    parser = argparse.ArgumentParser(prog="python -m servicekit.auth")
    sub = parser.add_subparsers(dest="cmd", required=True)
    issue = sub.add_parser("issue", help="print a development bearer token")
    issue.add_argument(
        "--role", required=True, choices=[r.value for r in Role if r is not Role.SYSTEM]
    )
    issue.add_argument("--sub", required=True, help="the user's id")
    issue.add_argument("--unit", help="reporting unit id, for unit_officer")
    issue.add_argument("--base", help="base id, for base_operator")
    issue.add_argument("--hours", type=float, default=8.0)
    args = parser.parse_args(argv)
    secret = os.environ.get("AUTH_JWT_SECRET")
    if not secret:
        parser.error("AUTH_JWT_SECRET is not set")
    settings = TokenSettings(
        secret,
        os.environ.get("AUTH_JWT_ISSUER", "socialwork-dev"),
        os.environ.get("AUTH_JWT_AUDIENCE", "socialwork"),
        max_lifetime=dt.timedelta(
            seconds=float(os.environ.get("AUTH_JWT_MAX_LIFETIME_SECONDS", 12 * 3600))
        ),
    )
    try:
        token = issue_token(
            settings,
            subject=args.sub,
            role=Role(args.role),
            unit=args.unit,
            base=args.base,
            now=dt.datetime.now(dt.UTC),
            ttl=dt.timedelta(hours=args.hours),
        )
    except ValueError as exc:
        parser.error(str(exc))
    sys.stdout.write(token + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
