"""Who may do what on Kafka: one principal per service, one read-only integrator, and the ACLs.

Before this, anyone who reached the broker could append facts to any service's topic (a forged
`AgencyRegistered` showed up in reporting). Now the broker authenticates every client (SASL)
and authorises each request against these grants (Kafka's StandardAuthorizer, no ACL = denied).
They are derived from the service manifest in socialwork_contracts.topics, nothing else:

- a service **writes** only the event topic it produces (`TopicSpec.producer`) and its own
  dead-letter topic `socialwork.<service>.deadletter`;
- it **reads** the event topics it folds (`ServiceSpec.consumes`), in consumer groups named
  `<service>.…` (`<projection>.<store id>`, servicekit.runtime);
- it may only **describe** the other event topics (so its start-up check sees they exist);
- the integrator reads the event topics, in groups named `integrator.…`, and writes nothing;
- nobody but the administrator (a super user) creates topics or changes ACLs.

`provision` makes a broker match this: topics, SCRAM-SHA-512 credentials of each principal, and
exactly these ACLs for the principals it manages (grants it finds beyond them are removed). It is
idempotent: devstack runs it on every `./dev up`, Compose's `kafka-init` on every `up`.

    python -m servicekit.kafka_access plan        # print the grants
    python -m servicekit.kafka_access provision   # apply them (as the administrator)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence

from socialwork_contracts.topics import EVENT_TOPICS, SERVICES, consumed_by, dead_letter_topic

from servicekit.kafka_acls import (
    Changes,
    Grant,
    Operation,
    PatternType,
    ResourceType,
    admin_client,
    converge_grants,
    principal,
    set_scram_credentials,
)
from servicekit.kafka_admin import ensure_topics
from servicekit.kafka_security import KafkaSecurity
from servicekit.settings import KafkaSettings

INTEGRATOR = "integrator"


def service_grants(service: str) -> list[Grant]:
    """What one service's principal may do (see the module docstring)."""
    who = principal(service)
    consumed = {t.name for t in consumed_by(service)}
    grants = []
    for topic in EVENT_TOPICS:
        if topic.producer == service:
            operation = Operation.WRITE  # WRITE implies DESCRIBE
        elif topic.name in consumed:
            operation = Operation.READ  # READ implies DESCRIBE
        else:
            operation = Operation.DESCRIBE  # only its start-up check sees it exists
        grants.append(Grant(who, ResourceType.TOPIC, topic.name, PatternType.LITERAL, operation))
    grants.append(
        Grant(
            who,
            ResourceType.TOPIC,
            dead_letter_topic(service),
            PatternType.LITERAL,
            Operation.WRITE,
        )
    )
    # Consumer groups are `<projection name>.<store id>` and every projection's name starts
    # with the service's own (servicekit.runtime.add_consumer).
    grants.append(
        Grant(who, ResourceType.GROUP, f"{service}.", PatternType.PREFIXED, Operation.READ)
    )
    return grants


def integrator_grants(user: str = INTEGRATOR) -> list[Grant]:
    """Read-only: the three event topics, in consumer groups named `<user>.…`."""
    who = principal(user)
    grants = [
        Grant(who, ResourceType.TOPIC, t.name, PatternType.LITERAL, Operation.READ)
        for t in EVENT_TOPICS
    ]
    grants.append(Grant(who, ResourceType.GROUP, f"{user}.", PatternType.PREFIXED, Operation.READ))
    return grants


def access_plan() -> list[Grant]:
    """Every grant of every principal the platform manages, sorted."""
    grants = [g for service in SERVICES for g in service_grants(service)]
    return sorted(grants + integrator_grants())


def managed_users() -> tuple[str, ...]:
    return (*SERVICES, INTEGRATOR)


def topics_to_create() -> list[tuple[str, int]]:
    """The event topics and every service's dead-letter topic (1 partition)."""
    return [(t.name, t.partitions) for t in EVENT_TOPICS] + [
        (dead_letter_topic(s), 1) for s in SERVICES
    ]


# --------------------------------------------------------------------------- provisioning


async def provision(
    bootstrap: str,
    security: KafkaSecurity,
    passwords: Mapping[str, str],
    *,
    replication_factor: int = 1,
    min_insync_replicas: int | None = None,
) -> Changes:
    """Topics, credentials and ACLs, as the administrator (a super user of the broker).

    `passwords` maps each user to provision (services and integrator) to its password; users
    left out keep whatever credential they have, and their ACLs are still converged.
    """
    await ensure_topics(
        bootstrap,
        topics_to_create(),
        replication_factor=replication_factor,
        min_insync_replicas=min_insync_replicas,
        security=security,
    )
    async with admin_client(bootstrap, security) as admin:
        await set_scram_credentials(admin, passwords)
        return await converge_grants(admin, managed_users(), access_plan())


def password_variable(user: str) -> str:
    """`REGISTRY_KAFKA_PASSWORD`, … `INTEGRATOR_KAFKA_PASSWORD`: read by `provision` only."""
    return f"{user.upper()}_KAFKA_PASSWORD"


def passwords_from_environment(env: Mapping[str, str]) -> dict[str, str]:
    missing = [password_variable(u) for u in managed_users() if not env.get(password_variable(u))]
    if missing:
        raise SystemExit(f"kafka_access provision: set {', '.join(missing)}")
    return {u: env[password_variable(u)] for u in managed_users()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m servicekit.kafka_access")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("plan", help="print the ACLs every principal gets")
    commands.add_parser(
        "provision",
        help="create topics, SCRAM credentials and ACLs (KAFKA_* of the administrator, "
        "<USER>_KAFKA_PASSWORD of each principal)",
    )
    args = parser.parse_args(argv)
    if args.command == "plan":
        for grant in access_plan():
            print(grant)  # noqa: T201 - a command-line report
        return 0
    settings = KafkaSettings()  # the administrator's connection, from the environment
    passwords = passwords_from_environment(os.environ)
    replication = int(os.environ.get("KAFKA_REPLICATION_FACTOR", "1"))
    min_insync = os.environ.get("KAFKA_MIN_INSYNC_REPLICAS")
    changes = asyncio.run(
        provision(
            settings.kafka_bootstrap_servers,
            KafkaSecurity.from_settings(settings),
            passwords,
            replication_factor=replication,
            min_insync_replicas=int(min_insync) if min_insync else None,
        )
    )
    print(  # noqa: T201 - a command-line report
        f"kafka access: {len(topics_to_create())} topics, {len(passwords)} principals, "
        f"{len(access_plan())} grants ({len(changes.created)} added, "
        f"{len(changes.deleted)} removed)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
