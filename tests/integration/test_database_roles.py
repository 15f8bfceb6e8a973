"""One PostgreSQL role per service, owning its schema and nothing else (issue 10, item 8).

Before: every service connected as the same user, so registry's connection could read and
change incubation's tables. Now `servicekit.db_access.provision` gives each service a role that
owns only its schema; these tests use role names of their own (roles are cluster-wide).
"""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from socialwork_contracts.topics import SERVICES

from servicekit.db_access import provision
from servicekit.eventstore import EventStore
from servicekit.eventstore.store import create_pool
from services.reporting import readmodel
from tests.conftest import as_role, drop_roles

pytestmark = pytest.mark.infra


async def start_store(url: str, service: str) -> None:
    """What a service does at start on its database: create its tables (and views)."""
    pool = await create_pool(url)
    try:
        await EventStore(pool, service).create_schema()
        if service == "reporting":
            async with pool.acquire() as conn:
                await readmodel.ensure(conn)
    finally:
        await pool.close()


async def refused(conn: asyncpg.Connection, statement: str) -> bool:
    try:
        await conn.execute(statement)
    except asyncpg.InsufficientPrivilegeError:
        return True
    return False


async def test_registry_cannot_read_or_write_incubations_tables(
    database_url: str, service_roles: dict[str, str]
) -> None:
    for service in SERVICES:
        await start_store(as_role(database_url, service_roles[service]), service)
    registry = await asyncpg.connect(as_role(database_url, service_roles["registry"]))
    try:
        assert await refused(registry, "SELECT count(*) FROM incubation.events")
        assert await refused(
            registry, "INSERT INTO incubation.checkpoints (name, position) VALUES ('forged', 1)"
        )
        assert await refused(registry, "DELETE FROM incubation.checkpoints")
        assert await refused(registry, "SELECT count(*) FROM supervision.dead_letters")
        assert await refused(registry, "SELECT count(*) FROM reporting.installation")
        # Its own schema it uses as before.
        await registry.execute("INSERT INTO registry.checkpoints (name, position) VALUES ('x', 1)")
        assert await registry.fetchval("SELECT position FROM registry.checkpoints") == 1
    finally:
        await registry.close()


async def test_reporting_reads_nothing_but_its_own(
    database_url: str, service_roles: dict[str, str]
) -> None:
    for service in SERVICES:
        await start_store(as_role(database_url, service_roles[service]), service)
    reporting = await asyncpg.connect(as_role(database_url, service_roles["reporting"]))
    try:
        for schema in ("registry", "incubation", "supervision"):
            assert await refused(reporting, f"SELECT count(*) FROM {schema}.events")
        # Its rebuilds are new schemas of its own (reporting_g<N>): it may create those.
        await readmodel.ensure(reporting)
        await reporting.execute(readmodel.generation_tables_ddl("reporting_g2"))
        assert (
            await reporting.fetchval(
                "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'reporting_g2'"
            )
            == service_roles["reporting"]
        )
    finally:
        await reporting.close()


async def test_a_service_role_can_do_nothing_else_on_the_database(
    database_url: str, service_roles: dict[str, str]
) -> None:
    registry = await asyncpg.connect(as_role(database_url, service_roles["registry"]))
    try:
        assert await refused(registry, "CREATE SCHEMA elsewhere")
        assert await refused(registry, "CREATE TABLE public.elsewhere (x int)")
        assert await refused(
            registry, f"ALTER SCHEMA incubation OWNER TO {service_roles['registry']}"
        )
        attributes = await registry.fetchrow(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        )
        assert attributes is not None and not any(attributes.values())
    finally:
        await registry.close()


async def test_provisioning_adopts_an_installation_of_one_user(database_url: str) -> None:
    # Before: the administrator's user created and owned every schema.
    for service in SERVICES:
        await start_store(database_url, service)
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    names = {service: prefix + service for service in SERVICES}
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("INSERT INTO registry.checkpoints (name, position) VALUES ('before', 7)")
        await provision(conn, dict.fromkeys(SERVICES), roles=names)
        await provision(conn, dict.fromkeys(SERVICES), roles=names)  # idempotent
        owners = await conn.fetch(
            "SELECT DISTINCT n.nspname, pg_get_userbyid(c.relowner) AS owner FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = ANY($1::text[]) OR n.nspname ~ '^reporting_g'",
            list(SERVICES),
        )
        for row in owners:
            service = "reporting" if row["nspname"].startswith("reporting") else row["nspname"]
            assert row["owner"] == names[service], row
        registry = await asyncpg.connect(as_role(database_url, names["registry"]))
        try:
            await start_store(as_role(database_url, names["registry"]), "registry")
            assert await registry.fetchval("SELECT position FROM registry.checkpoints") == 7
            assert await refused(registry, "SELECT count(*) FROM incubation.events")
        finally:
            await registry.close()
        await start_store(as_role(database_url, names["reporting"]), "reporting")
    finally:
        await drop_roles(conn, names.values())
        await conn.close()
