"""Test database: a real PostgreSQL per session, one rolled-back transaction per test.

VARDKEDJA_TEST_DATABASE_URL points at a server (a fresh database is created on it for the
session and dropped afterwards); without it an embedded server is started in a temporary folder.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app import migrate
from app.db import ConnectionDatabase, EmbeddedServer, create_engine, to_plain_url
from app.settings import Settings

TEST_SECRET = "test-secret-not-for-production-0123456789"


def _with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database."""
    from sqlalchemy.engine import make_url

    return make_url(to_plain_url(url)).set(database=name).render_as_string(hide_password=False)


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(to_plain_url(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A URL of a PostgreSQL server database that tests may create databases from."""
    external = os.environ.get("VARDKEDJA_TEST_DATABASE_URL")
    if external:
        yield external
        return
    folder = Path(tempfile.mkdtemp(prefix="vardkedja-test-"))
    folder.chmod(0o755)
    server = EmbeddedServer(folder / "pgdata", delete_on_stop=True)
    yield server.start()
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def fresh_database(server_url: str) -> Iterator[object]:
    """A factory of empty databases on the test server, all dropped at the end."""
    created: list[str] = []

    def make() -> str:
        name = f"vardkedja_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
        created.append(name)
        return _with_database(server_url, name)

    yield make
    for name in created:
        asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def database_url(fresh_database: object) -> str:
    """The session's database, migrated to head once."""
    url: str = fresh_database()  # type: ignore[operator]
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(database_url, pool_size=2)
    yield eng
    await eng.dispose()


@pytest.fixture
async def conn(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with engine.connect() as connection:
        outer = await connection.begin()
        yield connection
        if outer.is_active:
            await outer.rollback()


@pytest.fixture
def settings() -> Settings:
    # A test sends hundreds of requests from one address in a burst (the research walk, the
    # situation matrix); the rate-limit tests set their own, tight buckets.
    return Settings(
        jwt_secret=TEST_SECRET,
        database_url=None,
        rate_limit_burst=100_000,
        rate_limit_address_burst=100_000,
    )


@pytest.fixture
async def client(conn: AsyncConnection, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the app whose requests run inside the test's transaction."""
    from app.main import create_app

    app = create_app(settings, db=ConnectionDatabase(conn))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
