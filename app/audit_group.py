"""Group commit of the audit trail for reads: the entries of concurrent read requests are
written together, in one statement (audit_append, migration 0023), not one transaction each.

A read's entries need not share its read's transaction: nothing of the read is to be undone
with them. What A12 asks is that no answer leaves before its entries are committed, and that
holds: `write` returns only once the transaction holding them has committed, and raises
whatever ended it (an outage, a refused audit key) so that the request answers with that
error instead of its data. A request that writes the record still writes its entries in its
own transaction (no record change without its entry).

The request ends its read transaction before it waits here, so a request holds no pooled
connection while its entries wait for the writer's (a pool of one connection still works).
One batch is written at a time; what arrives meanwhile is the next batch, so the batch grows
with the load and a lone request waits for nothing but its own write.

The writer keeps a chain of its own (chosen at random, as every flush's), and the process
remembers the chain's head from its last write (app/audit.py, `flush_many`), so a batch is one
statement that commits on its own: the chain's lock, the check that the head is still the
remembered one, and the INSERT. When another writer extended the chain meanwhile, the
statement writes nothing and returns the head, and the batch is linked to it and sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from app.audit import Pending, flush_many, forget_head, next_chain
from app.errors import ServiceUnavailable
from app.observability.metrics import AUDIT_GROUP_SIZE


@dataclass
class _Waiting:
    pending: Pending
    done: asyncio.Future[None]


@dataclass
class AuditGroup:
    """The group writer of one app: `connection` opens a connection on the primary whose
    statements commit on their own (or a transaction, where the pool cannot: app/db.reading)."""

    connection: Callable[[], contextlib.AbstractAsyncContextManager[AsyncConnection]]
    chain: int = field(default_factory=next_chain)
    _queue: list[_Waiting] = field(default_factory=list)
    _writer: asyncio.Task[None] | None = None

    async def write(self, pending: Pending) -> None:
        """Return once `pending`'s entries are committed; raise what prevented it."""
        if pending.buffer.empty or not pending.buffer.enabled:
            return
        waiting = _Waiting(pending, asyncio.get_running_loop().create_future())
        # Read even when nobody awaits it any more (see below), so it is never "unretrieved".
        waiting.done.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._queue.append(waiting)
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())
        # Shielded: a request cancelled while it waits (its client left) leaves its entries
        # to be written all the same; they record what was read.
        await asyncio.shield(waiting.done)

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                await self._commit(batch)
        finally:
            self._writer = None
            # Stopped (cancelled with the server): what arrived meanwhile is failed too.
            _fail(self._queue, ServiceUnavailable("stopping"))
            self._queue = []

    async def _commit(self, batch: list[_Waiting]) -> None:
        AUDIT_GROUP_SIZE.observe(len(batch))
        try:
            # One app, one audit key: the whole batch on one chain.
            async with self.connection() as conn:
                await flush_many(conn, [w.pending for w in batch], chain=self.chain)
        except BaseException as exc:
            forget_head(self.chain)  # whatever was written or not, ask the database next time
            # Every read of the batch answers with the failure, never with its data; a
            # cancelled writer (the server stopping) fails them with a 503 rather than leave
            # them waiting, and ends as cancelled.
            failure = exc if isinstance(exc, Exception) else ServiceUnavailable("stopping")
            _fail(batch, failure)
            if failure is not exc:
                raise
            return
        for waiting in batch:
            if not waiting.done.done():
                waiting.done.set_result(None)


def _fail(waiting: list[_Waiting], failure: Exception) -> None:
    for one in waiting:
        if not one.done.done():
            one.done.set_exception(failure)
