"""Month partitions of the audit trail (migration 0018): created ahead, and entries that
landed in the default partition moved into months of their own.

`vardkedja audit maintain` (run it daily, e.g. from cron; `serve` runs it at start too) does
both. A write never waits for it: without its month partition an entry goes to
`audit_entry_default`. Moving such entries copies them unchanged (ids, hashes, chains), so the
chains still verify; it holds an exclusive lock on the trail while the default is small.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.cli import one_line
from app.partitions import create_ahead, create_month, default_partition

TABLE = "audit_entry"
DEFAULT = default_partition(TABLE)
MOVING = f"{TABLE}_moving"
log = logging.getLogger("vardkedja.audit")


@dataclass
class AuditMaintenance:
    created: list[str] = field(default_factory=list)
    moved: int = 0  # entries moved out of the default partition


async def guard(conn: AsyncConnection, name: str) -> None:
    """The append-only TRUNCATE trigger and the API role's grants on a new partition."""
    await conn.execute(
        text("SELECT audit_entry_guard_partition(CAST(:p AS regclass))"), {"p": name}
    )


async def maintain(
    conn: AsyncConnection, *, months_ahead: int = 2, now: datetime | None = None
) -> AuditMaintenance:
    """Move the default partition's entries into month partitions, then create the partitions
    up to `months_ahead` months after this one. One transaction: commit it."""
    done = AuditMaintenance()
    months = await conn.execute(
        text(f"SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC') FROM {DEFAULT}")
    )
    starts = [month.replace(tzinfo=UTC) for (month,) in months]
    if starts:
        done.created, done.moved = await _move_default(conn, starts)
    done.created += await create_ahead(
        conn, TABLE, months_ahead=months_ahead, now=now, guard=lambda n: guard(conn, n)
    )
    return done


async def _move_default(conn: AsyncConnection, starts: list[datetime]) -> tuple[list[str], int]:
    """A partition cannot be created for rows that sit in the default partition: detach the
    default, create the months and a new default, and re-insert the rows through the parent."""
    await conn.execute(text(f"ALTER TABLE {TABLE} DETACH PARTITION {DEFAULT}"))
    await conn.execute(text(f"ALTER TABLE {DEFAULT} RENAME TO {MOVING}"))
    # No month of these has a partition: its rows would have gone there.
    created = [await create_month(conn, TABLE, s, guard=lambda n: guard(conn, n)) for s in starts]
    await conn.execute(text(f"CREATE TABLE {DEFAULT} PARTITION OF {TABLE} DEFAULT"))
    await guard(conn, DEFAULT)
    moved = await conn.execute(text(f"INSERT INTO {TABLE} SELECT * FROM {MOVING}"))
    await conn.execute(text(f"DROP TABLE {MOVING}"))
    return created, int(moved.rowcount)


async def create_months_ahead(url: str, months_ahead: int = 2) -> list[str]:
    """What `serve` does at start: the coming months' partitions, if this login may create
    them (a role that may not, such as vardkedja_api, leaves it to `audit maintain`)."""
    from app.db import in_transaction

    async def create(conn: AsyncConnection) -> list[str]:
        return await create_ahead(
            conn, TABLE, months_ahead=months_ahead, guard=lambda n: guard(conn, n)
        )

    try:
        return await in_transaction(url, create)
    except DBAPIError as exc:
        log.warning("audit partitions not created ahead: %s", one_line(str(exc.orig)))
        return []
