"""A pooled connection's life without SQLAlchemy's greenlets where nothing is sent
(app/db.py `_checked_out`, `_begun`): a read checks out, begins, commits and gives back its
connection with no greenlet; a write only commits in one; an invalidated pool still serves,
and leaves no unawaited coroutine behind."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy.ext.asyncio.engine as async_engine

from app import db as app_db
from app.db import PooledDatabase, driver_fetch


@pytest.fixture
def greenlets(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The greenlets app/db.py and SQLAlchemy's AsyncConnection start, by function name."""
    started: list[str] = []

    def counting(original: Any) -> Any:
        async def spawn(fn: Any, *args: Any, **kwargs: Any) -> Any:
            started.append(getattr(fn, "__name__", repr(fn)))
            return await original(fn, *args, **kwargs)

        return spawn

    for module in (app_db, async_engine):
        monkeypatch.setattr(module, "greenlet_spawn", counting(vars(module)["greenlet_spawn"]))
    yield started


async def one(database: PooledDatabase, *, read: bool) -> int:
    opened = database.reading() if read else database.transaction()
    async with opened as conn:
        rows = await driver_fetch(conn, "SELECT 7 AS seven", [])
    return int(rows[0]["seven"])


async def test_a_read_starts_no_greenlet_and_a_write_one_to_commit(
    database_url: str, greenlets: list[str]
) -> None:
    database = PooledDatabase(database_url, pool_size=1)
    database.start()
    try:
        assert await one(database, read=True) == 7  # opens the connection: SQLAlchemy's way
        assert greenlets, "opening a connection is I/O, in SQLAlchemy's greenlet"
        greenlets.clear()
        assert await one(database, read=True) == 7
        assert greenlets == []
        assert await one(database, read=False) == 7
        assert greenlets == ["__exit__"]  # its COMMIT is I/O; checkout, begin, close are not
        greenlets.clear()
        async with database.transaction():
            pass  # nothing sent: nothing to commit either
        assert greenlets == []
    finally:
        await database.stop()


async def test_an_invalidated_pool_still_serves_and_leaves_nothing_unawaited(
    database_url: str,
) -> None:
    database = PooledDatabase(database_url, pool_size=2)
    database.start()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(3):
                assert await one(database, read=True) == 7
            assert database.engine is not None
            database.engine.sync_engine.pool._invalidate(None)  # type: ignore[arg-type]
            for read in (True, False, True, True, False):
                assert await one(database, read=read) == 7
            gc.collect()
        assert [str(w.message) for w in caught] == []
    finally:
        await database.stop()


async def test_an_exception_rolls_back_what_was_sent_and_the_connection_comes_back_clean(
    database_url: str,
) -> None:
    database = PooledDatabase(database_url, pool_size=1)  # the same connection every time
    database.start()
    setting = "SELECT current_setting('vardkedja.life', true) AS value"
    try:
        assert await one(database, read=True) == 7
        with pytest.raises(KeyError):
            async with database.transaction() as conn:
                await driver_fetch(conn, "SELECT set_config('vardkedja.life', 'sent', false)", [])
                raise KeyError("the request failed after a statement")
        with pytest.raises(KeyError):
            async with database.reading():
                raise KeyError("the request failed before any statement")
        async with database.transaction() as conn:
            rows = await driver_fetch(conn, setting, [])
            assert rows[0]["value"] in ("", None), "rolled back, not committed"
            assert conn.sync_connection is not None
            assert conn.sync_connection.in_transaction()
        async with database.reading() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None and not raw.is_in_transaction()
    finally:
        await database.stop()


async def test_an_overflow_connection_is_closed_cleanly_when_the_pool_is_full(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Under load the pool opens connections beyond its size (its overflow). A connection
    given back when the pool is full is closed, which is I/O: in SQLAlchemy's greenlet, even
    when it was checked out without one. (It was given back quietly: the close failed with
    MissingGreenlet, logged, and left the server connection to the garbage collector.)"""
    import asyncio

    database = PooledDatabase(database_url, pool_size=1)
    database.start()
    try:
        assert database.engine is not None
        pool: Any = database.engine.sync_engine.pool  # a QueuePool
        assert await one(database, read=True) == 7  # the pool's own connection, checked in
        drivers: list[Any] = []
        held = [asyncio.Event(), asyncio.Event()]
        released = [asyncio.Event(), asyncio.Event()]

        async def hold(n: int) -> None:
            async with database.reading() as conn:
                await driver_fetch(conn, "SELECT 1 AS one", [])
                drivers.append((await conn.get_raw_connection()).driver_connection)
                held[n].set()
                await released[n].wait()

        first = asyncio.create_task(hold(0))  # the pool's connection, checked out quietly
        await held[0].wait()
        second = asyncio.create_task(hold(1))  # an overflow connection, opened
        await held[1].wait()
        released[1].set()
        await second  # the overflow one back first: the pool is full again
        released[0].set()
        await first
        assert pool.checkedin() == 1 and pool.checkedout() == 0
        assert [d.is_closed() for d in drivers] == [True, False]
        assert not [r for r in caplog.records if "Exception closing" in r.getMessage()]
        assert await one(database, read=True) == 7
    finally:
        await database.stop()
