"""Bearer-token authentication and role/locality-scoped authorisation, shared by every API.

Tokens are HS256 JWTs signed with AUTH_JWT_SECRET (an OIDC provider's RS256 keys can replace the
key later; the claims stay): `sub`, `role`, and `unit` (reporting unit) or `base` for scoped roles.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from dataclasses import dataclass
from enum import StrEnum

import jwt


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


@dataclass(frozen=True)
class TokenSettings:
    secret: str
    issuer: str
    audience: str
    # During a key rotation, tokens signed with the previous key stay valid until they expire;
    # new tokens are always signed with `secret`.
    previous_secret: str | None = None


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
    keys = [settings.secret] + ([settings.previous_secret] if settings.previous_secret else [])
    claims: dict[str, object] | None = None
    error: Exception | None = None
    for key in keys:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["HS256"],
                audience=settings.audience,
                issuer=settings.issuer,
                options={"require": ["sub", "role", "exp"]},
            )
            break
        except jwt.InvalidSignatureError as exc:
            error = exc  # perhaps signed with the previous key: try it
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(str(exc)) from exc
    if claims is None:
        raise Unauthenticated(str(error)) from error
    try:
        role = Role(str(claims["role"]))
    except ValueError as exc:
        raise Unauthenticated(str(exc)) from exc
    if role is Role.SYSTEM:
        raise Unauthenticated("the system role is not given to callers")
    unit, base = claims.get("unit"), claims.get("base")
    principal = Principal(
        str(claims["sub"]),
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
    )
    token = issue_token(
        settings,
        subject=args.sub,
        role=Role(args.role),
        unit=args.unit,
        base=args.base,
        now=dt.datetime.now(dt.UTC),
        ttl=dt.timedelta(hours=args.hours),
    )
    sys.stdout.write(token + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
