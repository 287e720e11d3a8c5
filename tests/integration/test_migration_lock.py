"""Replicas starting together: every `migrate` waits on one advisory lock, one upgrades, all
succeed and the schema is at head once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest

from app import migrate
from app.db import to_plain_url
from tests.integration.pgbouncer import _free_port
from tests.integration.test_serving_keys import SERVE, UVICORN, _env, _refusal

MIGRATORS = 3


async def _waiting_on_lock(url: str) -> int:
    conn = await asyncpg.connect(to_plain_url(url))
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()"
        )
        return count
    finally:
        await conn.close()


async def _versions(url: str) -> list[str]:
    conn = await asyncpg.connect(to_plain_url(url))
    try:
        return [r[0] for r in await conn.fetch("SELECT version_num FROM alembic_version")]
    finally:
        await conn.close()


def test_concurrent_migrations_all_succeed(fresh_database: Callable[[], str]) -> None:
    url = fresh_database()

    async def hold_lock_while(start: Callable[[], list[subprocess.Popen[bytes]]]) -> list[int]:
        # Hold the migration lock so that every migrator is started and blocked on it before
        # any of them runs: they then contend for real, not one after the other by chance.
        holder = await asyncpg.connect(to_plain_url(url))
        try:
            await holder.execute("SELECT pg_advisory_lock($1)", migrate.MIGRATION_LOCK)
            procs = start()
            deadline = time.monotonic() + 90
            while await _waiting_on_lock(url) < MIGRATORS:
                assert time.monotonic() < deadline, "the migrators never reached the lock"
                assert all(p.poll() is None for p in procs), "a migrator ended early"
                await asyncio.sleep(0.2)
            await holder.execute("SELECT pg_advisory_unlock($1)", migrate.MIGRATION_LOCK)
        finally:
            await holder.close()
        return [await asyncio.to_thread(p.wait, 120) for p in procs]

    def start() -> list[subprocess.Popen[bytes]]:
        code = "import sys; from app import migrate; migrate.upgrade(sys.argv[1])"
        return [subprocess.Popen([sys.executable, "-c", code, url]) for _ in range(MIGRATORS)]

    codes = asyncio.run(hold_lock_while(start))
    assert codes == [0] * MIGRATORS
    assert asyncio.run(_versions(url)) == [migrate.head_revision()]


async def _set_version(url: str, version: str) -> None:
    conn = await asyncpg.connect(to_plain_url(url))
    try:
        await conn.execute("UPDATE alembic_version SET version_num = $1", version)
    finally:
        await conn.close()


def test_an_older_version_refuses_a_newer_schema(fresh_database: Callable[[], str]) -> None:
    url = fresh_database()
    migrate.upgrade(url)
    asyncio.run(_set_version(url, "9999_from_the_future"))
    code = "import sys; from app.cli import main; sys.exit(main())"
    env = os.environ | {"VARDKEDJA_DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-c", code, "migrate"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "newer than this version of vardkedja knows" in lines[0], lines
    assert migrate.head_revision() in lines[0]
    assert asyncio.run(_versions(url)) == ["9999_from_the_future"]  # left as it was


@pytest.mark.parametrize("runner", ["serve", "uvicorn"])
def test_an_older_server_refuses_a_newer_schema(
    runner: str, fresh_database: Callable[[], str], tmp_path: Path
) -> None:
    # `serve` migrates first; the ASGI factory does not migrate, and checks the revision.
    url = fresh_database()
    migrate.upgrade(url)
    asyncio.run(_set_version(url, "9999_from_the_future"))
    argv = [*SERVE, "--no-demo"] if runner == "serve" else UVICORN
    keys = {"VARDKEDJA_AUDIT_KEY": "k" * 32, "VARDKEDJA_PSEUDONYM_KEY": "p" * 32}
    env = _env(tmp_path, VARDKEDJA_DATABASE_URL=url, **keys)
    line = _refusal([*argv, "--port", str(_free_port())], env)
    assert "newer than this version of vardkedja knows" in line, line
    assert asyncio.run(_versions(url)) == ["9999_from_the_future"]
