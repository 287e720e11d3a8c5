"""libpq's sslmode in the database URL: disable and prefer work against a server without TLS
(here PgBouncer on 127.0.0.1, which offers clients no TLS); require fails with one line."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from app.db import DatabaseUnavailable, check_reachable, create_engine, split_tls
from tests.integration.pgbouncer import running_pgbouncer


@pytest.fixture(scope="module")
def tcp_url(database_url: str) -> Iterator[str]:
    with running_pgbouncer(database_url) as url:
        yield url


async def _select_one(url: str) -> int:
    engine = create_engine(url, pool_size=1, pgbouncer=True)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT 1"))).scalar_one())
    finally:
        await engine.dispose()


@pytest.mark.parametrize("mode", ["disable", "prefer"])
def test_sslmode_disable_and_prefer_connect(tcp_url: str, mode: str) -> None:
    url = f"{tcp_url}?sslmode={mode}"
    asyncio.run(check_reachable(url))
    assert asyncio.run(_select_one(url)) == 1


def test_sslmode_require_fails_in_one_line(tcp_url: str) -> None:
    url = f"{tcp_url}?sslmode=require"
    with pytest.raises(DatabaseUnavailable) as caught:
        asyncio.run(check_reachable(url))
    assert "SSL" in str(caught.value) and "\n" not in str(caught.value)
    # The command line says the same in one line, no traceback.
    env = os.environ | {"VARDKEDJA_DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from app.cli import main; sys.exit(main())", "migrate"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach database"), done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_tls_parameters_leave_the_url() -> None:
    url = "postgresql://u@db.example:5432/v?sslmode=verify-full&application_name=a"
    assert split_tls(url) == ("postgresql://u@db.example:5432/v?application_name=a", "verify-full")
    with pytest.raises(DatabaseUnavailable, match="sslmode must be one of"):
        split_tls("postgresql://u@h/v?sslmode=sometimes")
