"""Settings from the environment only (secrets never in code or files)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Environment variables shared by every service (documented in docs/configuration.md)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    database_url: str = Field(description="PostgreSQL DSN", validation_alias="DATABASE_URL")
    kafka_bootstrap_servers: str = Field(
        description="Kafka bootstrap servers, comma-separated",
        validation_alias="KAFKA_BOOTSTRAP_SERVERS",
    )
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
    kafka_replication_factor: int = Field(default=1, validation_alias="KAFKA_REPLICATION_FACTOR")
    relay_batch_size: int = Field(default=500, validation_alias="RELAY_BATCH_SIZE")
    relay_poll_seconds: float = Field(default=0.5, validation_alias="RELAY_POLL_SECONDS")
    http_host: str = Field(default="127.0.0.1", validation_alias="HTTP_HOST")
    http_port: int = Field(default=8000, validation_alias="HTTP_PORT")
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
    db_pool_max: int = Field(default=10, validation_alias="DB_POOL_MAX")
