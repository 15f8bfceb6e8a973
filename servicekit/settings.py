"""Settings from the environment only (secrets never in code or files)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# A JWKS fetched over plain HTTP could be swapped in transit, and with it every caller's identity.
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


KafkaSecurityProtocol = Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"]
KafkaSaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]


class KafkaSettings(BaseSettings):
    """How to reach and authenticate to Kafka: every service, and the access provisioning."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    kafka_bootstrap_servers: str = Field(
        description="Kafka bootstrap servers, comma-separated",
        validation_alias="KAFKA_BOOTSTRAP_SERVERS",
    )
    kafka_security_protocol: KafkaSecurityProtocol = Field(
        default="PLAINTEXT",
        description="PLAINTEXT (no authentication: development only), SASL_PLAINTEXT or SASL_SSL",
        validation_alias="KAFKA_SECURITY_PROTOCOL",
    )
    kafka_sasl_mechanism: KafkaSaslMechanism = Field(
        default="SCRAM-SHA-512",
        description="SASL mechanism when the protocol is SASL_*",
        validation_alias="KAFKA_SASL_MECHANISM",
    )
    kafka_sasl_username: str | None = Field(
        default=None,
        description="This service's Kafka principal (User:<name>) when the protocol is SASL_*",
        validation_alias="KAFKA_SASL_USERNAME",
    )
    kafka_sasl_password: SecretStr | None = Field(
        default=None,
        description="Password of KAFKA_SASL_USERNAME",
        validation_alias="KAFKA_SASL_PASSWORD",
    )
    kafka_ssl_cafile: Path | None = Field(
        default=None,
        description="With SASL_SSL: CA certificates (PEM) that signed the broker's certificate",
        validation_alias="KAFKA_SSL_CAFILE",
    )

    @model_validator(mode="after")
    def _credentials_match_the_protocol(self) -> KafkaSettings:
        # A half-configured client would either fail at the broker much later or, worse,
        # silently talk without authentication: refuse it at start instead.
        sasl = self.kafka_security_protocol.startswith("SASL_")
        given = self.kafka_sasl_username is not None or self.kafka_sasl_password is not None
        if sasl and (not self.kafka_sasl_username or self.kafka_sasl_password is None):
            raise ValueError(
                "KAFKA_SECURITY_PROTOCOL is SASL_*: set KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        if not sasl and given:
            raise ValueError(
                "KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD are set but KAFKA_SECURITY_PROTOCOL is "
                f"{self.kafka_security_protocol}: set it to SASL_PLAINTEXT or SASL_SSL"
            )
        if self.kafka_ssl_cafile is not None and self.kafka_security_protocol != "SASL_SSL":
            raise ValueError("KAFKA_SSL_CAFILE needs KAFKA_SECURITY_PROTOCOL=SASL_SSL")
        return self


class StoreSettings(KafkaSettings):
    """What a command run beside a service needs (a read model's rebuild, the reporting
    replay): its database and its Kafka principal. Not the token key: the reporting replay Job
    (deploy/k8s/replay) runs with reporting's principal and role and nothing else."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    database_url: str = Field(description="PostgreSQL DSN", validation_alias="DATABASE_URL")
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")


class ServiceSettings(StoreSettings):
    """Environment variables shared by every service (documented in docs/configuration.md)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    auth_jwt_secret: SecretStr = Field(
        description="HMAC key that signs bearer tokens (HS256)", validation_alias="AUTH_JWT_SECRET"
    )
    auth_jwt_previous_secret: SecretStr | None = Field(
        default=None,
        description="During a key rotation only: the previous key, still accepted for verifying",
        validation_alias="AUTH_JWT_PREVIOUS_SECRET",
    )
    auth_jwt_issuer: str = Field(default="socialwork-dev", validation_alias="AUTH_JWT_ISSUER")
    auth_jwt_audience: str = Field(default="socialwork", validation_alias="AUTH_JWT_AUDIENCE")
    auth_jwt_max_lifetime_seconds: int = Field(
        default=12 * 3600,
        gt=0,
        description="Tokens whose exp lies further than this after their iat are refused",
        validation_alias="AUTH_JWT_MAX_LIFETIME_SECONDS",
    )
    auth_jwt_leeway_seconds: int = Field(
        default=30,
        ge=0,
        le=60,
        description="Clock skew allowed on exp, iat and nbf",
        validation_alias="AUTH_JWT_LEEWAY_SECONDS",
    )
    auth_jwks_url: str | None = Field(
        default=None,
        description="HTTPS URL of the identity provider's JWKS (RS256/ES256 tokens)",
        validation_alias="AUTH_JWKS_URL",
    )
    auth_jwks_file: Path | None = Field(
        default=None,
        description="Path of a JWKS file, instead of AUTH_JWKS_URL",
        validation_alias="AUTH_JWKS_FILE",
    )
    auth_jwks_cache_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How long the JWKS is kept before it is fetched again",
        validation_alias="AUTH_JWKS_CACHE_SECONDS",
    )
    auth_jwt_allow_hs256_with_jwks: bool = Field(
        default=False,
        description="With a JWKS set, also accept HS256 tokens signed with AUTH_JWT_SECRET",
        validation_alias="AUTH_JWT_ALLOW_HS256_WITH_JWKS",
    )
    kafka_replication_factor: int = Field(default=1, validation_alias="KAFKA_REPLICATION_FACTOR")
    kafka_min_insync_replicas: int | None = Field(
        default=None,
        ge=1,
        description="min.insync.replicas of the topics a service creates; unset: the broker's",
        validation_alias="KAFKA_MIN_INSYNC_REPLICAS",
    )
    consumer_fetch_max_wait_ms: int = Field(
        default=500,
        ge=10,
        le=30_000,
        description="Longest the broker holds a consumer's fetch while there is nothing to read "
        "(with records it answers at once): the idle consumers' fetches per second",
        validation_alias="CONSUMER_FETCH_MAX_WAIT_MS",
    )
    consumer_fetch_min_bytes: int = Field(
        default=1,
        ge=1,
        le=1_048_576,
        description="Bytes the broker gathers before it answers a consumer's fetch, waiting at "
        "most CONSUMER_FETCH_MAX_WAIT_MS: fewer, larger fetches (the broker's CPU) for up to that "
        "wait on every event's way to the read models",
        validation_alias="CONSUMER_FETCH_MIN_BYTES",
    )
    consumer_batch_interval_ms: int = Field(
        default=100,
        ge=0,
        le=10_000,
        description="Least time from the start of one of a consumer's batches to the next's: "
        "records fetched sooner wait and join the next batch (one transaction), the first after "
        "a quiet moment goes at once; 0: each fetch applied as it comes",
        validation_alias="CONSUMER_BATCH_INTERVAL_MS",
    )
    consumer_offset_commit_ms: int = Field(
        default=5000,
        ge=100,
        description="How often a consumer copies its position to Kafka's group offsets, for lag "
        "tools only (the position that counts is its checkpoint in PostgreSQL)",
        validation_alias="CONSUMER_OFFSET_COMMIT_MS",
    )
    relay_batch_size: int = Field(default=500, validation_alias="RELAY_BATCH_SIZE")
    relay_poll_seconds: float = Field(default=0.5, validation_alias="RELAY_POLL_SECONDS")
    http_host: str = Field(default="127.0.0.1", validation_alias="HTTP_HOST")
    http_port: int = Field(default=8000, validation_alias="HTTP_PORT")
    http_max_body_bytes: int = Field(
        default=256 * 1024,
        ge=1,
        description="Largest request body accepted; a larger one is answered 413",
        validation_alias="HTTP_MAX_BODY_BYTES",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token a scraper must send for /metrics; unset, /metrics answers 401",
        validation_alias="METRICS_TOKEN",
    )
    db_pool_max: int = Field(default=10, validation_alias="DB_POOL_MAX")
    command_group_lanes: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Group-commit transactions of HTTP commands running at once, each on its own "
        "pooled connection (servicekit/group_commit.py); keep below DB_POOL_MAX",
        validation_alias="COMMAND_GROUP_LANES",
    )
    command_group_max: int = Field(
        default=64,
        ge=1,
        le=1000,
        description="Most HTTP commands sharing one group-commit transaction (1: a commit each)",
        validation_alias="COMMAND_GROUP_MAX",
    )

    @field_validator("auth_jwks_url")
    @classmethod
    def _jwks_url_is_https(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        loopback = parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS
        if parts.scheme == "https" or loopback:
            return url
        raise ValueError("AUTH_JWKS_URL must be https (plain http only on the loopback)")

    @model_validator(mode="after")
    def _lanes_leave_connections(self) -> ServiceSettings:
        # The relay leads on a connection of its own, and consumers and queries need one too.
        if self.command_group_lanes >= self.db_pool_max:
            raise ValueError("COMMAND_GROUP_LANES must be below DB_POOL_MAX")
        return self

    @model_validator(mode="after")
    def _one_jwks_source(self) -> ServiceSettings:
        if self.auth_jwks_url is not None and self.auth_jwks_file is not None:
            raise ValueError("set AUTH_JWKS_URL or AUTH_JWKS_FILE, not both")
        return self
