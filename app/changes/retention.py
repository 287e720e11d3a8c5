"""Retention of the change log: month partitions ahead, whole old partitions dropped.

`vardkedja changes maintain` (run it daily, e.g. from cron) creates the partitions of the coming
months and drops those that end before now - retention. Before dropping, it records the newest
(txid, position) it drops in `change_log_horizon`, so that a cursor from before then is refused
with CURSOR_EXPIRED instead of silently skipping what was dropped. Rows that landed in the
default partition (no month partition existed) are never dropped by this; they are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models.changes import DEFAULT_PARTITION
from app.partitions import Bounds, create_ahead, month_partitions


@dataclass
class Maintenance:
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    rows_in_default: int = 0


async def partitions(conn: AsyncConnection) -> dict[str, Bounds]:
    """The month partitions and their [from, to) bounds."""
    return await month_partitions(conn, "change_log")


async def maintain(
    conn: AsyncConnection,
    *,
    retention: timedelta,
    months_ahead: int = 2,
    now: datetime | None = None,
) -> Maintenance:
    """Create the partitions up to `months_ahead` months after this one; drop the partitions
    that end before now - retention (raising the horizon first). One transaction: commit it."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    done = Maintenance()
    existing = await partitions(conn)
    done.created = await create_ahead(conn, "change_log", months_ahead=months_ahead, now=moment)
    cutoff = moment - retention
    for name, (_, upper) in sorted(existing.items(), key=lambda item: item[1][0]):
        if upper > cutoff:
            continue
        newest = (
            await conn.execute(
                text(f"SELECT txid, position FROM {name} ORDER BY txid DESC, position DESC LIMIT 1")
            )
        ).first()
        if newest is not None:
            await conn.execute(
                text(
                    "UPDATE change_log_horizon SET txid = greatest(txid, :t),"
                    " position = CASE WHEN (:t, :p) > (txid, position) THEN :p ELSE position END,"
                    " dropped_before = greatest(dropped_before, :before) WHERE id = 1"
                ),
                {"t": newest.txid, "p": newest.position, "before": upper},
            )
        else:
            await conn.execute(
                text(
                    "UPDATE change_log_horizon SET dropped_before ="
                    " greatest(dropped_before, :before) WHERE id = 1"
                ),
                {"before": upper},
            )
        await conn.execute(text(f"DROP TABLE {name}"))
        done.dropped.append(name)
    count = await conn.execute(text(f"SELECT count(*) FROM {DEFAULT_PARTITION}"))
    done.rows_in_default = int(count.scalar_one())
    return done
