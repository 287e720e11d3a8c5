"""The webhook worker's pace: a burst of new change-log entries wakes it once, not per write."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pytest

from app.changes.webhooks import run_worker


async def test_a_burst_of_wakes_is_served_by_one_step(caplog: pytest.LogCaptureFixture) -> None:
    steps = 0

    @contextlib.asynccontextmanager
    async def begin() -> AsyncIterator[None]:
        nonlocal steps
        steps += 1
        yield None  # no connection: the step fails, the worker logs it and goes on

    caplog.set_level(logging.CRITICAL, logger="vardkedja")
    wake = asyncio.Event()
    worker = asyncio.create_task(run_worker(begin, wake=wake, interval=60, settle=0.5))
    try:
        await asyncio.sleep(0.1)
        assert steps == 1  # the first step, at start
        for _ in range(50):  # fifty writes in a burst
            wake.set()
            await asyncio.sleep(0.002)
        assert steps == 1  # settling
        await asyncio.sleep(0.8)
        assert steps == 2  # one step for the whole burst
        await asyncio.sleep(0.8)
        assert steps == 2  # and none without a new entry (the interval is a minute)
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
