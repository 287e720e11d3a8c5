"""A second replica without the shared audit key refuses to start instead of chaining entries
under a key of its own; an explicit key, or a database without entries, starts."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from app import migrate
from app.audit_key_guard import require_shared_audit_key
from app.db import create_engine
from app.settings import Settings, SettingsError
from tests.integration.pgbouncer import _free_port
from tests.integration.test_audit_chain import KEY, write_entries


async def _commit_entries(url: str, key: bytes = KEY) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await write_entries(conn, 2, key=key)
    finally:
        await engine.dispose()


def test_serve_refuses_without_the_shared_key(
    fresh_database: Callable[[], str], tmp_path: Path
) -> None:
    url = fresh_database()
    migrate.upgrade(url)
    asyncio.run(_commit_entries(url))
    env = {k: v for k, v in os.environ.items() if k != "VARDKEDJA_AUDIT_KEY"}
    # Development mode: outside it the missing key is refused before the trail is looked at.
    env |= {
        "VARDKEDJA_DATABASE_URL": url,
        "VARDKEDJA_DATA_DIR": str(tmp_path / "data"),
        "VARDKEDJA_DEVELOPMENT": "true",
    }
    code = "import sys; from app.cli import main; sys.exit(main())"
    args = ["serve", "--no-demo", "--port", str(_free_port())]
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "VARDKEDJA_AUDIT_KEY is not set" in lines[0], done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_an_explicit_key_or_an_empty_trail_starts(fresh_database: Callable[[], str]) -> None:
    url = fresh_database()
    migrate.upgrade(url)
    external = Settings(database_url=url, audit_key="a-key-from-the-data-dir")
    require_shared_audit_key(external, url, None)  # no entries yet: nothing to break
    asyncio.run(_commit_entries(url))
    require_shared_audit_key(external, url, "the-shared-key")
    with pytest.raises(SettingsError, match="VARDKEDJA_AUDIT_KEY"):
        require_shared_audit_key(external, url, None)
    embedded = Settings(database_url=None)
    require_shared_audit_key(embedded, url, None)  # embedded: its data dir's key is the key
