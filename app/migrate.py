"""Run Alembic from code: `vardkedja migrate`, readiness checks and tests use these."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import app.models  # noqa: F401
from app.db import DatabaseUnavailable, connect, describe_url, to_asyncpg_url
from app.partitions import is_partition_of

# The advisory lock that `migrate` and `serve` hold while they upgrade ("vardmigr"), distinct
# from the audit chain's lock key (app/audit.py).
MIGRATION_LOCK = 0x7661_7264_6D69_6772

# The tables partitioned by month (app/partitions.py).
PARTITIONED = ("change_log", "audit_entry")
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(
    url: str | None = None, connection: Connection | None = None, *, pgbouncer: bool = False
) -> Config:
    cfg = Config()
    cfg.attributes["pgbouncer"] = pgbouncer
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", to_asyncpg_url(url).replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(url: str, revision: str = "head", *, pgbouncer: bool = False) -> None:
    """Upgrade under the migration lock (migrations/env.py); `pgbouncer`: the URL is a PgBouncer
    in transaction pooling mode (the whole upgrade is one transaction, so it may be)."""
    try:
        command.upgrade(alembic_config(url, pgbouncer=pgbouncer), revision)
    except CommandError as exc:
        # A replica of an older version, after a newer one migrated: say so in one line.
        if "Can't locate revision" not in str(exc):
            raise
        raise _newer_schema(url) from None


def _newer_schema(url: str) -> DatabaseUnavailable:
    return DatabaseUnavailable(
        f"the schema of {describe_url(url)} is newer than this version of vardkedja knows "
        f"(its newest migration is {head_revision()}): run the newer version"
    )


async def _schema_revision(url: str) -> str | None:
    conn = await connect(url)
    try:
        if not await conn.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL"):
            return None  # never migrated
        found = await conn.fetchval("SELECT version_num FROM alembic_version")
        return None if found is None else str(found)
    finally:
        await conn.close()


def require_known_schema(url: str) -> None:
    """Raise DatabaseUnavailable (the one line of `upgrade`) when the database's schema is at a
    revision this version does not have: what a server that does not migrate (the ASGI
    factory) checks before it serves."""
    current = asyncio.run(_schema_revision(url))
    known = {
        script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    }
    if current is not None and current not in known:
        raise _newer_schema(url)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Autogenerate ignores the partitions of the change log and the audit trail: they are made
    by migrations and maintenance, not described by the models (app/partitions.py)."""
    return not (type_ == "table" and any(is_partition_of(t, name) for t in PARTITIONED))


def model_differences(connection: Connection) -> list[Any]:
    """What autogenerate would write: empty when models and migrations agree."""
    ctx = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": include_name}
    )
    return list(compare_metadata(ctx, SQLModel.metadata))
