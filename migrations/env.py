"""Alembic environment: async, metadata from app.models, URL from the caller or the settings."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table on SQLModel.metadata)
from app.db import create_engine
from app.migrate import MIGRATION_LOCK

config = context.config
target_metadata = SQLModel.metadata


def run_with(connection: Connection) -> None:
    from app.migrate import include_name

    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        # One migrator at a time: replicas starting together wait here, and each then reads
        # the version table afresh (after the lock), so only the first one upgrades. The lock
        # is the transaction's: it ends with the upgrade's commit (or rollback).
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


async def run_online() -> None:
    engine = create_engine(
        config.get_main_option("sqlalchemy.url") or "",
        pool_size=1,
        pgbouncer=bool(config.attributes.get("pgbouncer")),
    )
    async with engine.connect() as conn:
        await conn.run_sync(run_with)
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    run_with(connection)
else:
    asyncio.run(run_online())
