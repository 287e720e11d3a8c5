"""The change listener's pace (app/changes/notify.py): under a stream of commits one read of the
log serves many; after a quiet spell a commit is read at once."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from app.changes import notify
from app.changes.notify import ChangeDispatcher


async def test_a_stream_of_commits_shares_reads_and_a_lone_one_is_read_at_once(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[float] = []
    drain = ChangeDispatcher._drain

    async def counted(self: ChangeDispatcher, conn: asyncpg.Connection) -> None:
        reads.append(time.monotonic())
        await drain(self, conn)

    monkeypatch.setattr(ChangeDispatcher, "_drain", counted)
    dispatcher = ChangeDispatcher(database_url)
    dispatcher.start()
    try:
        await asyncio.wait_for(dispatcher.ready.wait(), 15)
        await asyncio.sleep(0.2)
        before = len(reads)
        started = time.monotonic()
        for _ in range(50):  # a commit every 5 ms for a quarter of a second
            dispatcher.committed()
            await asyncio.sleep(0.005)
        await asyncio.sleep(notify.SETTLE_SECONDS * 2)
        elapsed = time.monotonic() - started
        during = len(reads) - before
        assert 1 <= during <= elapsed / notify.SETTLE_SECONDS + 2  # not one read per commit

        await asyncio.sleep(notify.SETTLE_SECONDS * 2)  # quiet: the next commit is read now
        lone = time.monotonic()
        dispatcher.committed()
        for _ in range(100):
            if reads[-1] >= lone:
                break
            await asyncio.sleep(0.002)
        assert reads[-1] >= lone
        assert reads[-1] - lone < notify.SETTLE_SECONDS
    finally:
        await dispatcher.stop()
