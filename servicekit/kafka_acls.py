"""Kafka's ACLs and SCRAM credentials, through confluent-kafka's (librdkafka's) admin client.

aiokafka's admin client offers neither (no ACL methods, nothing for AlterUserScramCredentials,
KIP-554); confluent-kafka's `AdminClient` has both as public, maintained API. Its calls answer
with concurrent futures, awaited here without blocking the event loop, and every failure becomes
a `ProvisioningError`. What each principal may do is decided in servicekit.kafka_access, not here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from concurrent.futures import Future
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)
from confluent_kafka.admin import (
    ResourceType as ResourceType,  # re-exported: the plan's vocabulary is the library's
)

from servicekit.kafka_security import KafkaSecurity

Operation = AclOperation
PatternType = ResourcePatternType

_SCRAM_ITERATIONS = 8192  # Kafka accepts 4096-16384 for SHA-512
_ALL_HOSTS = "*"
# The controller answers once a change is committed; the broker applies it a moment later. Until
# then a new password is refused and a new ACL not enforced, so provisioning waits for both.
_SETTLE_SECONDS = 15.0
_SETTLE_POLL = 0.1


@dataclass(frozen=True, order=True)
class Grant:
    """One ALLOW ACL: principal may do operation on a resource (from any host)."""

    principal: str
    resource: ResourceType
    name: str
    pattern: PatternType
    operation: Operation

    def __str__(self) -> str:
        pattern = "" if self.pattern is PatternType.LITERAL else f" ({self.pattern.name.lower()})"
        return (
            f"{self.principal:<18} {self.operation.name:<9} "
            f"{self.resource.name.lower()} {self.name}{pattern}"
        )


def principal(user: str) -> str:
    return f"User:{user}"


class ProvisioningError(RuntimeError):
    """The broker refused part of the provisioning."""


def _code(e: KafkaException) -> int | None:
    error = e.args[0] if e.args else None
    return error.code() if isinstance(error, KafkaError) else None


def _detail(e: KafkaException) -> str:
    error = e.args[0] if e.args else None
    return f"{error.name()} {error.str()}" if isinstance(error, KafkaError) else str(e)


async def _outcome(future: Future[Any], what: str) -> Any:
    """The result of one admin call's future, awaited on the event loop."""
    try:
        return await asyncio.wrap_future(future)
    except KafkaException as e:
        raise ProvisioningError(f"{what}: {_detail(e)}") from e


@asynccontextmanager
async def admin_client(bootstrap: str, security: KafkaSecurity) -> AsyncIterator[AdminClient]:
    """An admin client of the given principal, destroyed on exit."""
    client = AdminClient({"bootstrap.servers": bootstrap, **security.librdkafka_config()})
    try:
        yield client
    finally:
        # The context manager's exit is the client's only close: it joins librdkafka's threads,
        # so it runs off the event loop.
        await asyncio.to_thread(client.__exit__, None, None, None)


def scram_upsertion(user: str, password: str) -> UserScramCredentialUpsertion:
    """SCRAM-SHA-512 credential; librdkafka draws a random salt and sends Hi(password, salt, i)."""
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, _SCRAM_ITERATIONS)
    return UserScramCredentialUpsertion(user, info, password.encode("utf-8"))


async def set_scram_credentials(admin: AdminClient, passwords: Mapping[str, str]) -> None:
    """Create or replace each user's SCRAM-SHA-512 credential (the administrator only)."""
    if not passwords:
        return
    upsertions: list[UserScramCredentialAlteration] = [
        scram_upsertion(u, p) for u, p in passwords.items()
    ]
    for user, future in admin.alter_user_scram_credentials(upsertions).items():
        await _outcome(future, f"SCRAM credential of {user}")
    await _settle(partial(_lack_credentials, admin, list(passwords)), "SCRAM credentials")


async def _lack_credentials(admin: AdminClient, users: list[str]) -> list[str]:
    """The users the broker lists no SCRAM-SHA-512 credential for (yet)."""
    lacking = []
    futures = admin.describe_user_scram_credentials(users)
    assert isinstance(futures, dict)  # one future per user, as users are given
    for user, future in futures.items():
        try:
            described = await asyncio.wrap_future(future)
        except KafkaException as e:
            if _code(e) != KafkaError.RESOURCE_NOT_FOUND:  # that one: not there yet
                raise ProvisioningError(f"describe SCRAM credential of {user}: {_detail(e)}") from e
            lacking.append(user)
            continue
        mechanisms = {info.mechanism for info in described.scram_credential_infos}
        if ScramMechanism.SCRAM_SHA_512 not in mechanisms:
            lacking.append(user)
    return lacking


async def _settle(pending: Callable[[], Awaitable[list[Any]]], what: str) -> None:
    """Wait until the broker shows what was just changed (`pending` returns nothing left)."""
    deadline = asyncio.get_running_loop().time() + _SETTLE_SECONDS
    while left := await pending():
        if asyncio.get_running_loop().time() > deadline:
            raise ProvisioningError(f"{what} not in effect after {_SETTLE_SECONDS:.0f} s: {left}")
        await asyncio.sleep(_SETTLE_POLL)


# --------------------------------------------------------------------------- ACLs


@dataclass(frozen=True)
class Acl:
    """An ACL as the broker holds it (any permission, any host)."""

    principal: str
    resource: ResourceType
    name: str
    pattern: PatternType
    operation: Operation
    host: str
    permission: AclPermissionType

    @classmethod
    def of(cls, binding: AclBinding) -> Acl:
        # AclBinding converts its arguments to these enums; its attributes keep the arguments'
        # declared union types, and calling an enum with its own member returns it.
        return cls(
            binding.principal,
            ResourceType(binding.restype),
            binding.name,
            PatternType(binding.resource_pattern_type),
            Operation(binding.operation),
            binding.host,
            AclPermissionType(binding.permission_type),
        )

    def as_grant(self) -> Grant | None:
        """The plan's form of this ACL, or None when the plan cannot hold it (DENY, a host)."""
        if self.permission is not AclPermissionType.ALLOW or self.host != _ALL_HOSTS:
            return None
        return Grant(self.principal, self.resource, self.name, self.pattern, self.operation)

    def exactly(self) -> AclBindingFilter:
        """A filter that matches this ACL and no other."""
        return AclBindingFilter(
            self.resource,
            self.name,
            self.pattern,
            self.principal,
            self.host,
            self.operation,
            self.permission,
        )


async def current_acls(admin: AdminClient, user: str) -> list[Acl]:
    """Every ACL the broker holds for one principal (any resource, pattern and permission)."""
    query = AclBindingFilter(
        ResourceType.ANY,
        None,  # type: ignore[arg-type]  # None matches any name (documented; the stub says str)
        PatternType.ANY,
        principal(user),
        None,  # type: ignore[arg-type]  # any host, as above
        Operation.ANY,
        AclPermissionType.ANY,
    )
    bindings: list[AclBinding] = await _outcome(
        admin.describe_acls(query), f"describe ACLs of {user}"
    )
    return [Acl.of(binding) for binding in bindings]


async def _delete(admin: AdminClient, acls: list[Acl]) -> None:
    if not acls:
        return
    filters = [acl.exactly() for acl in acls]
    futures = admin.delete_acls(filters)
    for acl, exact in zip(acls, filters, strict=True):
        await _outcome(futures[exact], f"delete ACL {acl}")


async def _create(admin: AdminClient, grants: list[Grant]) -> None:
    if not grants:
        return
    bindings = [
        AclBinding(
            g.resource,
            g.name,
            g.pattern,
            g.principal,
            _ALL_HOSTS,
            g.operation,
            AclPermissionType.ALLOW,
        )
        for g in grants
    ]
    futures = admin.create_acls(bindings)
    for grant, binding in zip(grants, bindings, strict=True):
        await _outcome(futures[binding], f"create ACL {grant}")


@dataclass(frozen=True)
class Changes:
    created: list[Grant]
    deleted: list[Acl]


async def converge_grants(
    admin: AdminClient, users: Iterable[str], wanted: Iterable[Grant]
) -> Changes:
    """Make the ACLs of `users` exactly `wanted`: add what is missing, remove the rest."""
    wanted_set = set(wanted)
    created: list[Grant] = []
    deleted: list[Acl] = []
    for user in users:
        mine = {g for g in wanted_set if g.principal == principal(user)}
        kept: set[Grant] = set()
        extra: list[Acl] = []
        for acl in await current_acls(admin, user):
            grant = acl.as_grant()
            if grant is not None and grant in mine:
                kept.add(grant)
            else:
                extra.append(acl)
        missing = sorted(mine - kept)
        await _delete(admin, extra)
        await _create(admin, missing)
        deleted.extend(extra)
        created.extend(missing)
        # Also the check that the listing was real: librdkafka drops DescribeAcls' error code,
        # so a refused listing reads as "no ACLs" (its creations then fail, or this times out).
        await _settle(partial(_unlike, admin, user, mine), f"ACLs of {user}")
    return Changes(created, deleted)


async def _unlike(admin: AdminClient, user: str, wanted: set[Grant]) -> list[object]:
    """What differs between the broker's ACLs of `user` and `wanted` (nothing once converged)."""
    held = [acl.as_grant() or acl for acl in await current_acls(admin, user)]
    return [*(h for h in held if h not in wanted), *sorted(wanted - set(held))]
