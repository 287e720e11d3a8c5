"""Schema extension: an operation ends only when its statements have.

graphql-core cancels the sibling resolvers of a failed non-null field; their statements keep
running (DataAccess shields them, since a cancelled asyncpg query closes the connection).
Waiting here keeps the connection free for the audit flush and commit that follow.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension

from app.context import Context


class SettleStatements(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        yield
        ctx = self.execution_context.context
        # A subscription's context has no request statements between deliveries.
        data = getattr(ctx, "data", None) if isinstance(ctx, Context) else None
        if data is not None:
            await data.settle()


def settle_statements() -> SchemaExtension:
    """The extension for one execution. Strawberry refuses async hooks in `execute_sync`; a
    synchronous execution (outside an event loop) cannot have statements in flight anyway."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return SchemaExtension()
    return SettleStatements()
