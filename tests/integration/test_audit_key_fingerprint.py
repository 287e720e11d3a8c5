"""The database keeps a fingerprint of the audit key: the first start records it, a replica
under another key refuses to start (one line) once entries are chained, and a rotation moves
it to the new key."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest

from app import migrate
from app.audit_key_guard import fingerprint, settle_fingerprint
from app.db import to_plain_url
from app.settings import SettingsError
from tests.integration.pgbouncer import _free_port
from tests.integration.test_audit_key_guard import _commit_entries

OLD, NEW, OTHER = b"the-shared-key-2025", b"the-shared-key-2026", b"a-key-of-its-own"


async def _stored(url: str) -> list[str]:
    conn = await asyncpg.connect(to_plain_url(url))
    try:
        return [r["fingerprint"] for r in await conn.fetch("SELECT * FROM audit_key_fingerprint")]
    finally:
        await conn.close()


def test_recorded_once_refused_under_another_key_moved_by_a_rotation(
    fresh_database: Callable[[], str],
) -> None:
    url = fresh_database()
    migrate.upgrade(url)
    assert asyncio.run(settle_fingerprint(url, OTHER, [])) == "recorded"
    # No entry is chained yet (a trial before the deployment's key): another key takes over.
    assert asyncio.run(settle_fingerprint(url, OLD, [])) == "moved"
    asyncio.run(_commit_entries(url))
    assert asyncio.run(settle_fingerprint(url, OLD, [])) == "same"
    assert asyncio.run(_stored(url)) == [fingerprint(OLD)]
    with pytest.raises(SettingsError, match="chained under another key") as refused:
        asyncio.run(settle_fingerprint(url, OTHER, []))
    assert "\n" not in str(refused.value)
    assert OTHER.decode() not in str(refused.value) and OLD.decode() not in str(refused.value)
    # Rotation: the new key, with the old one retired, moves the fingerprint ...
    assert asyncio.run(settle_fingerprint(url, NEW, [OLD])) == "moved"
    assert asyncio.run(_stored(url)) == [fingerprint(NEW)]
    # ... after which a replica still on the old key is refused.
    with pytest.raises(SettingsError, match="chained under another key"):
        asyncio.run(settle_fingerprint(url, OLD, []))
    # The stored value is not the key, nor a plain hash of it.
    assert fingerprint(NEW) != fingerprint(OLD) and NEW.hex() not in fingerprint(NEW)


def _serve(
    url: str, key: str, tmp_path: Path, wait: float = 120
) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "VARDKEDJA_DATABASE_URL": url,
        "VARDKEDJA_AUDIT_KEY": key,
        "VARDKEDJA_PSEUDONYM_KEY": "the-pseudonym-key",
        "VARDKEDJA_DATA_DIR": str(tmp_path / "data"),
    }
    code = "import sys; from app.cli import main; sys.exit(main())"
    args = ["serve", "--no-demo", "--port", str(_free_port())]
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=wait
    )


def test_serve_under_another_key_refuses_in_one_line(
    fresh_database: Callable[[], str], tmp_path: Path
) -> None:
    url = fresh_database()
    migrate.upgrade(url)
    asyncio.run(settle_fingerprint(url, OLD, []))
    asyncio.run(_commit_entries(url))
    done = _serve(url, OTHER.decode(), tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "chained under another key" in lines[0], done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert asyncio.run(_stored(url)) == [fingerprint(OLD)]  # left as it was
