"""Test helpers for the schema: count SQL statements (Saleor's count_queries habit) and run
operations against the schema directly, with a real context on the test's connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.types import ExecutionResult

from app.access.policy import Policy
from app.access.principal import Principal, PrincipalKind
from app.context import Context, build_context
from app.db import DRIVER_LISTENERS
from app.settings import Settings

SYSTEM = Principal(kind=PrincipalKind.SYSTEM, subject="schema-tests")


@asynccontextmanager
async def count_statements(conn: AsyncConnection) -> AsyncIterator[list[str]]:
    """Collects the SQL of every statement run on this connection inside the block: through
    SQLAlchemy, and straight on its driver connection (app.db.driver_fetch)."""
    statements: list[str] = []
    raw = (await conn.get_raw_connection()).driver_connection

    def record(*args: Any) -> None:
        statements.append(args[2])  # (conn, cursor, statement, parameters, context, many)

    def record_driver(on: Any, sql: str, args: Any) -> None:
        if on is raw:
            statements.append(sql)

    sync = conn.sync_connection
    assert sync is not None
    event.listen(sync, "before_cursor_execute", record)
    DRIVER_LISTENERS.append(record_driver)
    try:
        yield statements
    finally:
        event.remove(sync, "before_cursor_execute", record)
        DRIVER_LISTENERS.remove(record_driver)


def context(
    conn: AsyncConnection, principal: Principal = SYSTEM, policy: Policy | None = None
) -> Context:
    """A request context on the test's connection (the configured policy unless given)."""
    return build_context(conn, principal, Settings(database_url=None), policy=policy)


async def execute(
    conn: AsyncConnection,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    principal: Principal = SYSTEM,
    policy: Policy | None = None,
) -> ExecutionResult:
    """Run an operation on the public schema with a fresh per-request context."""
    from schema import schema

    return await schema.execute(
        query, variable_values=variables, context_value=context(conn, principal, policy)
    )


async def data_of(
    conn: AsyncConnection,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    principal: Principal = SYSTEM,
    policy: Policy | None = None,
) -> dict[str, Any]:
    """The data of a successful operation (fails the test with the errors otherwise)."""
    result = await execute(conn, query, variables, principal=principal, policy=policy)
    assert result.errors is None, [e.formatted for e in result.errors]
    assert result.data is not None
    return result.data
