"""Kafka's ACL and SCRAM admin requests, which aiokafka's admin client does not offer.

aiokafka ships the Describe/Create/DeleteAcls request types but no method for them, and nothing
for AlterUserScramCredentials (KIP-554); this module sends them and checks every answer. What
each principal may do is decided in servicekit.kafka_access, not here.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import for_code
from aiokafka.protocol.admin import CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

_SCRAM_SHA_512 = 2  # ScramMechanism id in Kafka's AlterUserScramCredentials
_SCRAM_ITERATIONS = 8192  # Kafka accepts 4096-16384 for SHA-512


class ResourceType(IntEnum):
    ANY = 1
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4


class PatternType(IntEnum):
    ANY = 1
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    ANY = 1
    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8


_ANY_PERMISSION = 1
_ALLOW = 3
_ALL_HOSTS = "*"


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


# AlterUserScramCredentials (API key 51): its wire format is small.


class _ScramResponse(Response):  # type: ignore[misc]  # aiokafka ships no type information
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _ScramRequestV0(RequestStruct):  # type: ignore[misc]  # as above
    FLEXIBLE_VERSION = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = _ScramResponse
    SCHEMA = Schema(
        (
            "deletions",
            CompactArray(
                ("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields)
            ),
        ),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _AlterScramCredentials(Request[_ScramRequestV0]):  # type: ignore[misc]  # as above
    API_KEY = 51

    def __init__(self, upsertions: list[tuple[Any, ...]]) -> None:
        self._upsertions = upsertions

    def build(self, request_struct_class: type[_ScramRequestV0]) -> _ScramRequestV0:
        return request_struct_class([], self._upsertions, {})


def scram_upsertion(user: str, password: str) -> tuple[Any, ...]:
    """SCRAM-SHA-512 credential as Kafka stores it: a random salt and Hi(password, salt, i)."""
    salt = secrets.token_bytes(32)
    salted = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, _SCRAM_ITERATIONS)
    return (user, _SCRAM_SHA_512, _SCRAM_ITERATIONS, salt, salted, {})


class ProvisioningError(RuntimeError):
    """The broker refused part of the provisioning."""


def _check(code: int, message: str | None, what: str) -> None:
    if code != 0:
        error = for_code(code)
        raise ProvisioningError(f"{what}: {error.__name__} {message or ''}".rstrip())


async def set_scram_credentials(admin: AIOKafkaAdminClient, passwords: Mapping[str, str]) -> None:
    """Create or replace each user's SCRAM-SHA-512 credential (the administrator only)."""
    if not passwords:
        return
    request = _AlterScramCredentials([scram_upsertion(u, p) for u, p in passwords.items()])
    # A private method: aiokafka's admin client has no public way to send a raw request.
    response = await admin._send_request(request)
    for user, code, message, _ in response.results:
        _check(code, message, f"SCRAM credential of {user}")


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
    permission: int

    def as_grant(self) -> Grant | None:
        """The plan's form of this ACL, or None when the plan cannot hold it (DENY, a host)."""
        if self.permission != _ALLOW or self.host != _ALL_HOSTS:
            return None
        return Grant(self.principal, self.resource, self.name, self.pattern, self.operation)


async def current_acls(admin: AIOKafkaAdminClient, user: str) -> list[Acl]:
    """Every ACL the broker holds for one principal (any resource, pattern and permission)."""
    request = DescribeAclsRequest(
        ResourceType.ANY,
        None,  # a null name matches any resource
        PatternType.ANY,
        principal(user),
        None,  # any host
        Operation.ANY,
        _ANY_PERMISSION,
    )
    response = await admin._send_request(request)
    _check(response.error_code, response.error_message, f"describe ACLs of {user}")
    return [
        Acl(
            who,
            ResourceType(resource_type),
            name,
            PatternType(pattern),
            Operation(operation),
            host,
            permission,
        )
        for resource_type, name, pattern, acls in response.resources
        for who, host, operation, permission in acls
    ]


async def _delete(admin: AIOKafkaAdminClient, acl: Acl) -> None:
    request = DeleteAclsRequest(
        acl.resource,
        acl.name,
        acl.pattern,
        acl.principal,
        acl.host,
        acl.operation,
        acl.permission,
    )
    response = await admin._send_request(request)
    for code, message, _ in response.filter_responses:
        _check(code, message, f"delete ACL {acl}")


async def _create(admin: AIOKafkaAdminClient, grant: Grant) -> None:
    request = CreateAclsRequest(
        grant.resource,
        grant.name,
        grant.pattern,
        grant.principal,
        _ALL_HOSTS,
        grant.operation,
        _ALLOW,
    )
    response = await admin._send_request(request)
    for code, message in response.creation_responses:
        _check(code, message, f"create ACL {grant}")


@dataclass(frozen=True)
class Changes:
    created: list[Grant]
    deleted: list[Acl]


async def converge_grants(
    admin: AIOKafkaAdminClient, users: Iterable[str], wanted: Iterable[Grant]
) -> Changes:
    """Make the ACLs of `users` exactly `wanted`: add what is missing, remove the rest."""
    wanted_set = set(wanted)
    created: list[Grant] = []
    deleted: list[Acl] = []
    for user in users:
        mine = {g for g in wanted_set if g.principal == principal(user)}
        kept: set[Grant] = set()
        for acl in await current_acls(admin, user):
            grant = acl.as_grant()
            if grant is not None and grant in mine:
                kept.add(grant)
            else:
                await _delete(admin, acl)
                deleted.append(acl)
        for grant in sorted(mine - kept):
            await _create(admin, grant)
            created.append(grant)
    return Changes(created, deleted)
