"""`vardkedja changes maintain` (partitions ahead, old ones dropped; run it daily) and
`vardkedja worker` (webhook deliveries outside the server process)."""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

from rich.console import Console

from app.cli import command, positive_int
from app.settings import Settings

if TYPE_CHECKING:
    from app.changes.retention import Maintenance

out = Console()


def _args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["maintain"], help="maintain: partitions and retention")
    parser.add_argument(
        "--retention-days",
        type=positive_int,
        default=None,
        help="keep this many days (default VARDKEDJA_CHANGE_LOG_RETENTION_DAYS)",
    )
    parser.add_argument(
        "--months-ahead", type=positive_int, default=2, help="partitions to create ahead"
    )


async def _run(url: str, retention: timedelta, months_ahead: int) -> Maintenance:
    from app.changes.retention import maintain
    from app.db import in_transaction

    return await in_transaction(
        url, lambda conn: maintain(conn, retention=retention, months_ahead=months_ahead)
    )


@command("changes", "maintain the change log: partitions ahead, retention", _args)
def changes_command(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: every command module loads when `vardkedja` starts, `token` too.
    from app.runtime import open_database

    days = args.retention_days
    if days is None:
        days = settings.change_log_retention_days
    with open_database(settings) as db:
        done = asyncio.run(_run(db.url, timedelta(days=days), args.months_ahead))
    out.print(f"created {', '.join(done.created) or 'no partitions'}")
    out.print(f"dropped {', '.join(done.dropped) or 'no partitions'} (retention {days} days)")
    if done.rows_in_default:
        out.print(
            f"[yellow]{done.rows_in_default} entries are in change_log_default (written while no "
            "month partition existed); they are kept until moved by hand[/yellow]"
        )
    return 0


@command("worker", "deliver webhooks (outside the server process)")
def worker_command(args: argparse.Namespace, settings: Settings) -> int:
    from app.changes.webhooks import run_worker
    from app.db import PooledDatabase
    from app.runtime import open_database

    async def work(url: str) -> None:
        pooled = PooledDatabase(url, pool_size=2)
        pooled.start()
        try:
            await run_worker(pooled.transaction, audit_key=(settings.audit_key or "").encode())
        finally:
            await pooled.stop()

    with open_database(settings) as db:
        out.print(f"delivering webhooks from {db.description} (Ctrl-C stops)")
        try:
            asyncio.run(work(db.url))
        except KeyboardInterrupt:
            return 0
    return 0
