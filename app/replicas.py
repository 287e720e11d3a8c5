"""Read replicas: GraphQL queries read from a streaming standby, everything else from the
primary (docs/operations.md, "Read replicas").

A query's reads run in a transaction on a standby (taken in turn); its audit entries, which are
writes, go to the primary in a transaction of their own that commits before the answer leaves.
Read-your-writes: a mutation's answer carries the primary's WAL position after its commit in
the `Vardkedja-LSN` header; a client that sends it back with its next query is read from a
standby only once that standby has replayed so far (waiting up to `replica_wait` seconds), else
from the primary.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Sequence

from app.db import Database, PooledDatabase, driver_fetch
from app.errors import ServiceUnavailable

LSN_HEADER = "Vardkedja-LSN"
# A WAL position as PostgreSQL prints it (pg_lsn): two hexadecimal halves.
LSN_FORMAT = re.compile(r"[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}")
CAUGHT_UP = "SELECT coalesce(pg_last_wal_replay_lsn() >= $1::text::pg_lsn, false) AS ok"
# After a commit, the primary's WAL is flushed at least this far (synchronous_commit on).
WAL_POSITION = "SELECT pg_current_wal_lsn()::text AS lsn"
POLL_SECONDS = 0.005


class ReplicaSet:
    """A pool per standby, taken in turn, and the primary to fall back on."""

    def __init__(self, primary: Database, replicas: Sequence[PooledDatabase], wait: float) -> None:
        self.primary, self.replicas, self.wait = primary, list(replicas), wait
        self._turn = itertools.cycle(range(len(self.replicas)))

    def start(self) -> None:
        for replica in self.replicas:
            replica.start()

    async def stop(self) -> None:
        for replica in self.replicas:
            await replica.stop()

    async def for_query(self, after: str | None) -> Database:
        """Where a query reads: the next standby; with `after` (the client's last write) only
        once it has replayed that far, else the primary (also when it cannot be reached)."""
        replica = self.replicas[next(self._turn)]
        if after is None:
            return replica
        try:
            async with replica.transaction() as conn:
                deadline = time.monotonic() + self.wait
                while not (await driver_fetch(conn, CAUGHT_UP, (after,)))[0]["ok"]:
                    if time.monotonic() >= deadline:
                        return self.primary
                    await asyncio.sleep(POLL_SECONDS)
        except ServiceUnavailable:
            return self.primary
        return replica

    async def written_up_to(self) -> str:
        """The primary's WAL position now: past the commit of any transaction that has
        returned (what a mutation's answer hands its client)."""
        async with self.primary.transaction() as conn:
            return str((await driver_fetch(conn, WAL_POSITION, ()))[0]["lsn"])


def parse_lsn(raw: str | None) -> str | None:
    """The client's `Vardkedja-LSN` header; ValueError when it is not a WAL position."""
    if raw is None or not raw.strip():
        return None
    if not LSN_FORMAT.fullmatch(raw.strip()):
        raise ValueError(f"{LSN_HEADER} must be a WAL position such as 0/16B3748")
    return raw.strip()
