"""RS256/ES256 tokens of an identity provider, verified with the keys of its JWKS by `kid`."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from servicekit.auth import (
    JwksKeys,
    TokenSettings,
    Unauthenticated,
    token_settings_from,
    verify_token,
)
from servicekit.settings import ServiceSettings

SECRET = "key-0123456789abcdef0123456789abcdef"
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: PrivateKey

    @property
    def algorithm(self) -> str:
        return "RS256" if isinstance(self.private, rsa.RSAPrivateKey) else "ES256"

    def public_jwk(self) -> dict[str, Any]:
        if isinstance(self.private, rsa.RSAPrivateKey):
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            jwk = jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def sign(self, *, kid: str | None = None, **claims: Any) -> str:
        now = int(time.time())
        body = {"sub": "li@idp", "role": "auditor", "iss": "iss", "aud": "aud", "iat": now}
        body |= {"exp": now + 3600, **claims}
        return jwt.encode(body, self.private, self.algorithm, headers={"kid": kid or self.kid})


def rsa_key(kid: str) -> SigningKey:
    return SigningKey(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))


def ec_key(kid: str) -> SigningKey:
    return SigningKey(kid, ec.generate_private_key(ec.SECP256R1()))


def jwks(*keys: SigningKey) -> dict[str, Any]:
    return {"keys": [k.public_jwk() for k in keys]}


@dataclass
class Provider:
    """A JWKS the test can rotate, with a clock it moves and a count of fetches."""

    document: Mapping[str, Any]
    now: float = 1000.0
    fetches: int = 0
    failing: bool = False
    keys: JwksKeys = field(init=False)

    def __post_init__(self) -> None:
        self.keys = JwksKeys(self.fetch, lifespan=300, cooldown=30, clock=lambda: self.now)

    def fetch(self) -> Mapping[str, Any]:
        self.fetches += 1
        if self.failing:
            raise OSError("identity provider unreachable")
        return self.document

    def settings(self) -> TokenSettings:
        return TokenSettings(SECRET, "iss", "aud", jwks=self.keys, accept_hs256=False)


def test_rs256_and_es256_tokens_from_a_jwks_file(tmp_path: Path) -> None:
    rsa1, ec1 = rsa_key("rsa-1"), ec_key("ec-1")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks(rsa1, ec1)), encoding="utf-8")
    settings = TokenSettings(SECRET, "iss", "aud", jwks=JwksKeys.from_file(path))
    assert verify_token(settings, rsa1.sign()).subject == "li@idp"
    assert verify_token(settings, ec1.sign(sub="wang")).subject == "wang"


def test_provider_tokens_pass_the_same_claim_checks() -> None:
    key = rsa_key("k1")
    settings = Provider(jwks(key)).settings()
    now = int(time.time())
    for claims in ({"sub": "system:relay"}, {"sub": "li\n"}, {"exp": now + 13 * 3600}):
        with pytest.raises(Unauthenticated):
            verify_token(settings, key.sign(**claims))
    with pytest.raises(Unauthenticated, match="iss"):
        verify_token(settings, key.sign(iss="another-idp"))


def test_a_token_signed_by_a_key_outside_the_set_is_refused() -> None:
    published, stranger = rsa_key("k1"), rsa_key("k1")  # same kid, different key
    settings = Provider(jwks(published)).settings()
    with pytest.raises(Unauthenticated, match="Signature"):
        verify_token(settings, stranger.sign())


def test_the_token_algorithm_must_be_the_key_algorithm() -> None:
    rsa1, ec1 = rsa_key("rsa-1"), ec_key("ec-1")
    settings = Provider(jwks(rsa1, ec1)).settings()
    with pytest.raises(Unauthenticated):
        verify_token(settings, ec1.sign(kid="rsa-1"))  # ES256 token naming the RSA key


def test_hs256_is_refused_once_a_provider_issues_the_tokens() -> None:
    key = rsa_key("k1")
    provider = Provider(jwks(key))
    development = jwt.encode(
        {"sub": "li", "role": "city_admin", "iss": "iss", "aud": "aud", "iat": int(time.time()),
         "exp": int(time.time()) + 60},
        SECRET,
        "HS256",
    )  # fmt: skip
    with pytest.raises(Unauthenticated, match="HS256"):
        verify_token(provider.settings(), development)
    both = TokenSettings(SECRET, "iss", "aud", jwks=provider.keys, accept_hs256=True)
    assert verify_token(both, development).subject == "li"
    assert verify_token(both, key.sign()).subject == "li@idp"


def test_unsigned_and_kidless_tokens_are_refused() -> None:
    key = rsa_key("k1")
    settings = Provider(jwks(key)).settings()
    unsigned = jwt.encode({"sub": "li", "role": "city_admin"}, "", algorithm="none")
    with pytest.raises(Unauthenticated, match="none"):
        verify_token(settings, unsigned)
    kidless = jwt.encode({"sub": "li"}, key.private, "RS256")
    with pytest.raises(Unauthenticated, match="kid"):
        verify_token(settings, kidless)


def test_a_rotated_key_is_fetched_once_its_kid_appears_and_the_old_one_retires() -> None:
    old, new = rsa_key("2024"), ec_key("2025")
    provider = Provider(jwks(old))
    settings = provider.settings()
    assert verify_token(settings, old.sign()).subject == "li@idp"
    assert provider.fetches == 1

    provider.document = jwks(old, new)  # the provider publishes its next key
    provider.now += 31  # past the refresh cooldown
    assert verify_token(settings, new.sign()).subject == "li@idp"
    assert provider.fetches == 2  # the unknown kid caused exactly one refresh

    provider.document = jwks(new)  # the old key is withdrawn
    assert verify_token(settings, old.sign()).subject == "li@idp"  # still cached
    provider.now += 300  # the cache expires
    with pytest.raises(Unauthenticated, match="kid"):
        verify_token(settings, old.sign())
    assert verify_token(settings, new.sign()).subject == "li@idp"


def test_unknown_kids_refresh_at_most_once_per_cooldown() -> None:
    key = rsa_key("k1")
    provider = Provider(jwks(key))
    settings = provider.settings()
    verify_token(settings, key.sign())
    for i in range(50):
        with pytest.raises(Unauthenticated, match="kid"):
            verify_token(settings, key.sign(kid=f"invented-{i}"))
    assert provider.fetches == 1  # all within the cooldown of the first fetch
    provider.now += 30
    with pytest.raises(Unauthenticated, match="kid"):
        verify_token(settings, key.sign(kid="invented-again"))
    assert provider.fetches == 2


def test_a_failed_fetch_keeps_the_keys_already_held() -> None:
    key = rsa_key("k1")
    provider = Provider(jwks(key))
    settings = provider.settings()
    verify_token(settings, key.sign())
    provider.failing = True
    provider.now += 301
    assert verify_token(settings, key.sign()).subject == "li@idp"
    assert provider.fetches == 2


def test_without_keys_every_provider_token_is_refused() -> None:
    key = rsa_key("k1")
    provider = Provider(jwks(key), failing=True)
    with pytest.raises(Unauthenticated, match="kid"):
        verify_token(provider.settings(), key.sign())


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A JWKS endpoint on the loopback; the test sets what it serves."""
    served: list[dict[str, Any]] = [{"keys": []}]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(served[-1]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json", served
    finally:
        server.shutdown()
        server.server_close()


def test_keys_from_a_jwks_url_through_the_service_settings(
    jwks_server: tuple[str, list[dict[str, Any]]],
) -> None:
    url, served = jwks_server
    key = ec_key("ec-1")
    served.append(jwks(key))
    environment = {
        "DATABASE_URL": "postgresql://x",
        "KAFKA_BOOTSTRAP_SERVERS": "x:9092",
        "AUTH_JWT_SECRET": SECRET,
        "AUTH_JWT_ISSUER": "iss",
        "AUTH_JWT_AUDIENCE": "aud",
        "AUTH_JWKS_URL": url,
    }
    settings = token_settings_from(ServiceSettings.model_validate(environment))
    assert settings.jwks is not None and not settings.accept_hs256
    assert verify_token(settings, key.sign()).subject == "li@idp"
