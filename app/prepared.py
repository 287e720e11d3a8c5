"""Large statements kept prepared per connection, so PostgreSQL plans them once, not per run.

asyncpg caches its prepared statements only up to 15 KiB of SQL text. The planner's statements
(resolvers/planner/) are 20-60 KB: sent uncached, each request parsed and planned one anew,
and planning a MyRecord cost 50-85 ms against 2-5 ms of running it (docs/performance.md).
Kept prepared, PostgreSQL plans a statement for its first five runs on a connection and then
settles on its generic plan when that costs no more (its `plan_cache_mode = auto`).

A connection keeps at most `LARGE_PER_CONNECTION` of them (least recently used dropped; asyncpg
deallocates a statement on the server once nothing refers to it), since each holds its plans in
the server backend: 1-5 MB for the largest shipped operation. Connections to PgBouncer in
transaction pooling mode keep none (the engine marks the connections that may, app/db.py).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import MutableMapping, Sequence
from typing import Any

import asyncpg

# asyncpg's own limit for its statement cache: anything larger is ours to keep.
LARGE = 15 * 1024
LARGE_PER_CONNECTION = 32
# The key in a pooled connection's `info` (it lives as long as the driver connection) under
# which its statements are kept; absent on connections that must keep none.
INFO_KEY = "vardkedja.large_statements"


def keep_large_statements(info: MutableMapping[Any, Any]) -> None:
    """Mark a new driver connection (its record's `info`) as one that keeps large statements."""
    info[INFO_KEY] = OrderedDict()


async def fetch(
    raw: asyncpg.Connection, info: MutableMapping[Any, Any], sql: str, args: Sequence[Any]
) -> list[Any]:
    """`raw.fetch(sql, *args)`, with a large statement prepared once per connection."""
    kept: OrderedDict[str, asyncpg.prepared_stmt.PreparedStatement] | None = info.get(INFO_KEY)
    if kept is None or len(sql) <= LARGE:
        small: list[Any] = await raw.fetch(sql, *args)
        return small
    statement = kept.get(sql)
    if statement is None:
        statement = kept[sql] = await raw.prepare(sql)
        if len(kept) > LARGE_PER_CONNECTION:
            kept.popitem(last=False)
    else:
        kept.move_to_end(sql)
    try:
        rows: list[Any] = await statement.fetch(*args)
    except asyncpg.exceptions.InvalidCachedStatementError:
        # The schema changed under it (a migration while serving): prepared anew next time.
        kept.pop(sql, None)
        raise
    return rows
