"""How a Kafka client authenticates: one value, turned into each client library's options.

Every client a service makes (the relay's producer, the FastStream broker of its consumers, the
admin client that checks its topics, reporting's replay consumer) and the provisioning's admin
client of ACLs and SCRAM credentials get their credentials here, so none of them can be left
talking without authentication. The value holds plain strings only, so it can be handed to a
worker process (reporting's sharded replay pickles its arguments).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any

from faststream.security import (
    BaseSecurity,
    SASLPlaintext,
    SASLScram256,
    SASLScram512,
)

from servicekit.settings import KafkaSaslMechanism, KafkaSecurityProtocol, KafkaSettings


@dataclass(frozen=True)
class KafkaSecurity:
    """Security protocol and SASL credentials of one Kafka principal (PLAINTEXT: none)."""

    protocol: KafkaSecurityProtocol = "PLAINTEXT"
    mechanism: KafkaSaslMechanism = "SCRAM-SHA-512"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None

    def __post_init__(self) -> None:
        if self.sasl and (not self.username or self.password is None):
            raise ValueError(f"{self.protocol} needs a username and a password")

    @classmethod
    def from_settings(cls, settings: KafkaSettings) -> KafkaSecurity:
        password = settings.kafka_sasl_password
        return cls(
            protocol=settings.kafka_security_protocol,
            mechanism=settings.kafka_sasl_mechanism,
            username=settings.kafka_sasl_username,
            password=password.get_secret_value() if password is not None else None,
            ssl_cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None,
        )

    @property
    def sasl(self) -> bool:
        return self.protocol != "PLAINTEXT"

    def _ssl_context(self) -> ssl.SSLContext | None:
        if self.protocol != "SASL_SSL":
            return None
        return ssl.create_default_context(cafile=self.ssl_cafile)

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's producer, consumer and admin client."""
        if not self.sasl:
            return {"security_protocol": "PLAINTEXT"}
        return {
            "security_protocol": self.protocol,
            "sasl_mechanism": self.mechanism,
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password,
            "ssl_context": self._ssl_context(),
        }

    def librdkafka_config(self) -> dict[str, str]:
        """The same settings as librdkafka's properties (confluent-kafka's admin client)."""
        if not self.sasl:
            return {"security.protocol": "PLAINTEXT"}
        config = {
            "security.protocol": self.protocol,
            "sasl.mechanism": self.mechanism,
            "sasl.username": self.username or "",  # __post_init__ checks
            "sasl.password": self.password or "",
        }
        if self.protocol == "SASL_SSL":
            # As _ssl_context: the given CA file, else the system's CAs; the host name checked.
            config["ssl.ca.location"] = self.ssl_cafile or "probe"
            config["ssl.endpoint.identification.algorithm"] = "https"
        return config

    def faststream(self) -> BaseSecurity | None:
        """The same credentials as FastStream's `KafkaBroker(security=...)` expects them."""
        if not self.sasl:
            return None
        username, password = self.username or "", self.password or ""  # __post_init__ checks
        use_ssl = self.protocol == "SASL_SSL"
        kinds: dict[str, type[SASLPlaintext | SASLScram256 | SASLScram512]] = {
            "PLAIN": SASLPlaintext,
            "SCRAM-SHA-256": SASLScram256,
            "SCRAM-SHA-512": SASLScram512,
        }
        return kinds[self.mechanism](
            username, password, ssl_context=self._ssl_context(), use_ssl=use_ssl
        )


def kafka_security(settings: KafkaSettings) -> KafkaSecurity:
    """The service's own Kafka credentials, from its settings."""
    return KafkaSecurity.from_settings(settings)
