"""Subscriptions' feed: one LISTEN connection per server process, fanned out by patient.

The change log's triggers only INSERT (a NOTIFY in the writing transaction serialised every
commit on a database-wide lock: migration 0013). Instead, after a request that wrote has
committed, the server process calls `committed()`: its own listener reads the log at once, and
sends one `NOTIFY vardkedja_changes` on its listening connection, outside any write transaction
and without waiting for its WAL flush (`synchronous_commit = off`); commits that arrive while
one is sent share the next. Every other server process listening wakes on it. Writes from
elsewhere (the FHIR import command, the seed, an operator's SQL) are found by polling the log's
end every POLL_SECONDS, which also delivers entries that a long transaction held back
(feed.py). A lost connection is reopened; entries are read from the cursor, so none is skipped.

The dispatcher reads the log after its own cursor, in the gap-free order of
app/changes/feed.py, and hands each entry to the subscribers of its patient; entries carry ids
only, and each subscriber applies the policy at send time (schema/subscriptions.py). It also
sets `new_entries` whenever it read any, which wakes the webhook worker of the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.changes.feed import Cursor, Entry
from app.db import to_plain_url

log = logging.getLogger("vardkedja.changes")

CHANNEL = "vardkedja_changes"
POLL_SECONDS = 0.5
# Reads of the log at most this often: under a stream of commits (each wakes the listener) one
# read serves many, where it had cost a read per write (0.25 ms of PostgreSQL each, over the
# log's partitions); an idle listener still reads at once.
SETTLE_SECONDS = 0.05
BATCH = 500
FINAL = "(txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint)"  # ended transactions only
READ = (
    "SELECT txid, position, recorded_at, patient_id, category, record_id, kind, record_table"
    " FROM change_log"
    f" WHERE (txid, position) > ($1, $2) AND {FINAL} ORDER BY txid, position LIMIT {BATCH}"
)
HEAD = (
    f"SELECT txid, position FROM change_log WHERE {FINAL} ORDER BY txid DESC, position DESC LIMIT 1"
)
QUEUE_SIZE = 1000


@dataclass(eq=False)
class Subscriber:
    """One subscription's inbox: entries of its patients, in log order."""

    patient_ids: frozenset[uuid.UUID]
    queue: asyncio.Queue[Entry] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False
    # The transactions committed when the subscription began: the listener may still be
    # routing their entries (held back behind older transactions), which are not this
    # subscription's to deliver.
    before: Snapshot | None = None

    def wants(self, entry: Entry) -> bool:
        return self.before is None or not self.before.shows(entry.cursor.txid)


@dataclass(frozen=True)
class Snapshot:
    """A PostgreSQL snapshot (pg_current_snapshot): which transactions had committed."""

    xmin: int
    xmax: int
    running: frozenset[int]

    @classmethod
    def parse(cls, value: str) -> Snapshot:
        xmin, xmax, running = value.split(":")
        return cls(int(xmin), int(xmax), frozenset(int(x) for x in running.split(",") if x))

    def shows(self, txid: int) -> bool:
        """Whether `txid` had ended before the snapshot (as pg_visible_in_snapshot)."""
        return txid < self.xmin or (txid < self.xmax and txid not in self.running)


async def current_snapshot(conn: AsyncConnection) -> Snapshot:
    return Snapshot.parse(str(await conn.scalar(text("SELECT pg_current_snapshot()::text"))))


class ChangeDispatcher:
    """LISTEN on the change channel and route new log entries to subscribers."""

    def __init__(self, url: str) -> None:
        self.url = to_plain_url(url)
        self.cursor: Cursor | None = None
        self._subscribers: dict[uuid.UUID, set[Subscriber]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._conn: asyncpg.Connection | None = None
        self._tell_others = False
        self.ready = asyncio.Event()
        self.new_entries = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._close()

    def subscribe(self, patient_ids: frozenset[uuid.UUID]) -> Subscriber:
        subscriber = Subscriber(patient_ids)
        for pid in patient_ids:
            self._subscribers.setdefault(pid, set()).add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        for pid in subscriber.patient_ids:
            found = self._subscribers.get(pid)
            if found is not None:
                found.discard(subscriber)
                if not found:
                    del self._subscribers[pid]

    def committed(self) -> None:
        """A transaction of this process that wrote has committed: read the log now, and
        tell the other processes (one NOTIFY for however many commits come meanwhile)."""
        self._tell_others = True
        self._wake.set()

    def _notified(self, conn: object, pid: int, channel: str, payload: object) -> None:
        if self._conn is not None and pid == self._conn.get_server_pid():
            return  # our own notice: we have read already
        self._wake.set()

    async def _connect(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(self.url)
        # Our NOTIFY commits alone; a notice lost in a crash is made up for by the polling.
        await conn.execute("SET synchronous_commit = off")
        await conn.add_listener(CHANNEL, self._notified)
        if self.cursor is None:
            # Subscriptions deliver what commits after the server started.
            head = await conn.fetchrow(HEAD)
            self.cursor = Cursor(head["txid"], head["position"]) if head else Cursor(0, 0)
        self.ready.set()
        return conn

    async def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                if self._conn is None:
                    self._conn = await self._connect()
                if self._tell_others:
                    self._tell_others = False
                    await self._conn.execute(f"NOTIFY {CHANNEL}")
                read_at = loop.time()
                await self._drain(self._conn)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
                # Commits that come meanwhile share the next read.
                await asyncio.sleep(max(0.0, read_at + SETTLE_SECONDS - loop.time()))
                self._wake.clear()
            except asyncio.CancelledError:
                raise
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("change listener lost its connection (%s); reconnecting", exc)
                await self._close()
                await asyncio.sleep(POLL_SECONDS)

    async def _drain(self, conn: asyncpg.Connection) -> None:
        assert self.cursor is not None
        while True:
            rows = await conn.fetch(READ, self.cursor.txid, self.cursor.position)
            for row in rows:
                entry = Entry(
                    Cursor(row["txid"], row["position"]),
                    row["recorded_at"],
                    row["patient_id"],
                    row["category"],
                    row["record_id"],
                    row["kind"],
                    row["record_table"],
                )
                self._route(entry)
                self.cursor = entry.cursor
            if rows:
                self.new_entries.set()
            if len(rows) < BATCH:
                return

    def _route(self, entry: Entry) -> None:
        for subscriber in list(self._subscribers.get(entry.patient_id, ())):
            try:
                subscriber.queue.put_nowait(entry)
            except asyncio.QueueFull:
                # A subscriber that does not keep up is ended (it resumes with `changes`).
                subscriber.overflowed = True
