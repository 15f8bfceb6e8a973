"""Each service's own PostgreSQL role, owning its schema and nothing else (issue 10, item 8).

One database, one schema per service (servicekit.eventstore), and now one login role per
service: `registry` owns the schema `registry`, and so on. A role has no privilege on another
service's schema, so a compromised or buggy service cannot read or change another's events,
checkpoints or views; reporting reads nothing but the Kafka topics. On the database itself each
role may only connect and use temporary tables. Reporting alone may also create schemas: each
rebuild of its views is a new schema `reporting_g<N>` (services/reporting/readmodel.py).

The administrator (the database owner, a super user) runs `provision` before the services
start; it is idempotent and also adopts an existing installation: schemas and their objects
that another role owns (the single user of earlier versions) are handed to the service's role.

    python -m servicekit.db_access provision   # DATABASE_URL of the administrator,
                                                # <SERVICE>_DB_PASSWORD of each service
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence

import asyncpg
from socialwork_contracts.topics import SERVICES

from servicekit.db import Connection
from servicekit.eventstore.schema import checked_schema

# Services that create schemas of their own at run time, and the names those schemas have.
CREATES_SCHEMAS: dict[str, str] = {"reporting": r"^reporting_g[0-9]+$"}


def password_variable(service: str) -> str:
    """`REGISTRY_DB_PASSWORD`, …: read by `provision` only; the service reads DATABASE_URL."""
    return f"{service.upper()}_DB_PASSWORD"


async def _execute_formatted(conn: Connection, template: str, *args: str | None) -> None:
    """Run a utility statement built by the server's format() (%I identifiers, %L literals).

    DDL takes no bind parameters; format() quotes names and passwords exactly as PostgreSQL
    parses them, so no value is ever spliced into SQL on this side.
    """
    placeholders = "".join(f", ${i}::text" for i in range(2, len(args) + 2))
    statement: str = await conn.fetchval(f"SELECT format($1::text{placeholders})", template, *args)
    await conn.execute(statement)


async def ensure_role(conn: Connection, role: str, password: str | None) -> None:
    """A login role with no attribute beyond login (no superuser, no createdb/createrole)."""
    exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
    if not exists:
        await _execute_formatted(conn, "CREATE ROLE %I LOGIN", role)
    await _execute_formatted(
        conn,
        "ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
        role,
    )
    if password is not None:
        await _execute_formatted(conn, "ALTER ROLE %I PASSWORD %L", role, password)


async def _schemas_of(conn: Connection, service: str) -> list[str]:
    names = [service]
    pattern = CREATES_SCHEMAS.get(service)
    if pattern is not None:
        found = await conn.fetch(
            "SELECT nspname FROM pg_namespace WHERE nspname ~ $1 ORDER BY nspname", pattern
        )
        names += [r["nspname"] for r in found]
    return [checked_schema(n) for n in names]


async def adopt_schema(conn: Connection, schema: str, role: str) -> None:
    """Create the schema for the role, or hand it and everything in it to the role."""
    await _execute_formatted(conn, "CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I", schema, role)
    await _execute_formatted(conn, "ALTER SCHEMA %I OWNER TO %I", schema, role)
    # Tables first: their indexes and their columns' sequences follow them.
    for kind, keyword in (
        ("r", "TABLE"),
        ("p", "TABLE"),
        ("v", "VIEW"),
        ("m", "MATERIALIZED VIEW"),
        ("S", "SEQUENCE"),
    ):
        rows = await conn.fetch(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = $1 AND c.relkind::text = $2 AND pg_get_userbyid(c.relowner) <> $3",
            schema,
            kind,
            role,
        )
        for row in rows:
            await _execute_formatted(
                conn, f"ALTER {keyword} %I.%I OWNER TO %I", schema, row["relname"], role
            )
    functions = await conn.fetch(
        "SELECT p.oid::regprocedure::text AS signature FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = $1 AND pg_get_userbyid(p.proowner) <> $2",
        schema,
        role,
    )
    for row in functions:
        # regprocedure's text is already a quoted, schema-qualified signature: %s, not %I.
        await _execute_formatted(conn, "ALTER FUNCTION %s OWNER TO %I", row["signature"], role)


async def provision(
    conn: Connection,
    passwords: Mapping[str, str | None],
    *,
    roles: Mapping[str, str] | None = None,
) -> None:
    """Roles, schemas and privileges for `passwords`' services, as the database's owner.

    `roles` maps a service to its role name (default: the service's name); a password of None
    leaves the role's password as it is (devstack trusts local connections).
    """
    database: str = await conn.fetchval("SELECT current_database()")
    async with conn.transaction():
        # Serialised with the services' own DDL (servicekit.eventstore.schema).
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ddl'))")
        await _execute_formatted(conn, "REVOKE ALL ON DATABASE %I FROM PUBLIC", database)
        await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        for service, password in passwords.items():
            role = (roles or {}).get(service, service)
            await ensure_role(conn, role, password)
            await _execute_formatted(
                conn, "GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I", database, role
            )
            if service in CREATES_SCHEMAS:
                await _execute_formatted(conn, "GRANT CREATE ON DATABASE %I TO %I", database, role)
            else:
                await _execute_formatted(
                    conn, "REVOKE CREATE ON DATABASE %I FROM %I", database, role
                )
            for schema in await _schemas_of(conn, service):
                await adopt_schema(conn, schema, role)


def passwords_from_environment(env: Mapping[str, str]) -> dict[str, str | None]:
    missing = [password_variable(s) for s in SERVICES if not env.get(password_variable(s))]
    if missing:
        raise SystemExit(f"db_access provision: set {', '.join(missing)}")
    return {s: env[password_variable(s)] for s in SERVICES}


async def _provision_from(dsn: str, passwords: Mapping[str, str | None]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await provision(conn, passwords)
    finally:
        await conn.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m servicekit.db_access")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "provision",
        help="create each service's role and schema (DATABASE_URL of the database owner, "
        "<SERVICE>_DB_PASSWORD of each service)",
    )
    parser.parse_args(argv)
    dsn = os.environ.get("DATABASE_URL")
    if not dsn:
        raise SystemExit("db_access provision: set DATABASE_URL (the database owner's)")
    passwords = passwords_from_environment(os.environ)
    asyncio.run(_provision_from(dsn, passwords))
    print(f"database roles: {', '.join(SERVICES)} provisioned")  # noqa: T201 - a CLI report
    return 0


if __name__ == "__main__":
    sys.exit(main())
