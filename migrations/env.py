"""Alembic environment: async, metadata from app.models, URL from the caller or the settings."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table on SQLModel.metadata)
from app.db import create_engine

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
        context.run_migrations()


async def run_online() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", pool_size=1)
    async with engine.connect() as conn:
        await conn.run_sync(run_with)
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    run_with(connection)
else:
    asyncio.run(run_online())
