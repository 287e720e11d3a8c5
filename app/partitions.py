"""Month partitions of a range-partitioned table (the change log, the audit trail).

Partitions are named `<table>_pYYYYMM` and cover one UTC month, [from, to); each table also
has a `<table>_default` partition, so that a write never fails when no month partition exists.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_BOUND = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")
Bounds = tuple[datetime, datetime]


def prefix(table: str) -> str:
    return f"{table}_p"


def default_partition(table: str) -> str:
    return f"{table}_default"


def is_partition_of(table: str, name: str | None) -> bool:
    """Whether `name` is one of `table`'s month partitions or its default partition."""
    if not name:
        return False
    rest = name[len(prefix(table)) :]
    return name == default_partition(table) or (name.startswith(prefix(table)) and rest.isdigit())


def month_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(moment: datetime) -> datetime:
    start = month_start(moment)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start.replace(year=year, month=month)


def partition_name(table: str, start: datetime) -> str:
    return f"{prefix(table)}{start:%Y%m}"


async def month_partitions(conn: AsyncConnection, table: str) -> dict[str, Bounds]:
    """The month partitions of `table` and their [from, to) bounds."""
    rows = await conn.execute(
        text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i"
            " JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = CAST(:table AS regclass)"
        ),
        {"table": table},
    )
    found: dict[str, Bounds] = {}
    for name, bound in rows:
        match = _BOUND.search(bound or "")
        if name.startswith(prefix(table)) and match:
            found[name] = (
                datetime.fromisoformat(match.group(1)).astimezone(UTC),
                datetime.fromisoformat(match.group(2)).astimezone(UTC),
            )
    return found


async def create_month(
    conn: AsyncConnection,
    table: str,
    start: datetime,
    *,
    guard: Callable[[str], Awaitable[None]] | None = None,
) -> str:
    """Create the partition of the month that starts at `start`; `guard` runs on its name
    (e.g. the audit trail's append-only trigger and grants)."""
    start = month_start(start)
    name = partition_name(table, start)
    await conn.execute(
        text(
            f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES"
            f" FROM ('{start.isoformat()}') TO ('{next_month(start).isoformat()}')"
        )
    )
    if guard is not None:
        await guard(name)
    return name


async def create_ahead(
    conn: AsyncConnection,
    table: str,
    *,
    months_ahead: int,
    now: datetime | None = None,
    guard: Callable[[str], Awaitable[None]] | None = None,
) -> list[str]:
    """Create the missing partitions from this month to `months_ahead` months after it."""
    existing = await month_partitions(conn, table)
    start = month_start(now or datetime.now(UTC))
    created = []
    for _ in range(months_ahead + 1):
        if partition_name(table, start) not in existing:
            created.append(await create_month(conn, table, start, guard=guard))
        start = next_month(start)
    return created
