"""The webhook worker's pace: a burst of new change-log entries wakes it once, not per write
(each step is two transactions on the real database)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncConnection

from app.changes.webhooks import run_worker
from app.db import PooledDatabase


async def test_a_burst_of_wakes_is_served_by_one_step(database_url: str) -> None:
    database = PooledDatabase(database_url, pool_size=1)
    database.start()
    transactions = 0
    counted = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def begin() -> AsyncIterator[AsyncConnection]:
        nonlocal transactions
        async with counted:
            transactions += 1
            counted.notify_all()
        async with database.transaction() as conn:
            yield conn

    async def reached(count: int) -> None:
        async with asyncio.timeout(15), counted:
            await counted.wait_for(lambda: transactions >= count)

    wake = asyncio.Event()
    worker = asyncio.create_task(run_worker(begin, wake=wake, interval=60, settle=3.0))
    try:
        await reached(2)  # the first step, at start: enqueue, then send
        for _ in range(50):  # fifty writes within a second, while the worker settles
            wake.set()
            await asyncio.sleep(0.02)
        await reached(4)  # one step for the whole burst
        await asyncio.sleep(1.0)
        assert transactions == 4  # not one per write, and none without a new entry
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        await database.stop()
