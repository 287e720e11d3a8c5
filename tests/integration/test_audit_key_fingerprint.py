"""The database keeps a fingerprint of the audit key: the first start records it, a replica
under another key refuses to start (one line) once entries are chained, a rotation moves it to
the new key, and a replica left under the old key then writes no entry (every audit write
checks the fingerprint, migration 0021)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from subprocess import PIPE, Popen

import asyncpg
import httpx
import pytest

from app import migrate
from app.audit_key_guard import fingerprint, settle_fingerprint
from app.db import create_engine, to_plain_url
from app.settings import Settings, SettingsError
from app.tokens import mint
from tests.conftest import TEST_SECRET
from tests.factories import create_patient
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
    asyncio.run(_commit_entries(url, OLD))
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
    asyncio.run(_commit_entries(url, OLD))
    done = _serve(url, OTHER.decode(), tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "chained under another key" in lines[0], done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert asyncio.run(_stored(url)) == [fingerprint(OLD)]  # left as it was


QUERY = "query($p: String!) { patient(personnummer: $p) { familyName } }"


async def _patient(url: str) -> str:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            return (await create_patient(conn)).identifier
    finally:
        await engine.dispose()


async def _entries(url: str) -> int:
    conn = await asyncpg.connect(to_plain_url(url))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM audit_entry"))
    finally:
        await conn.close()


def _replica(url: str, key: bytes, tmp_path: Path, *retired: bytes) -> tuple[Popen[str], str]:
    """`serve` under `key` (with `retired` keys: a rotation), answering; its base URL."""
    port = _free_port()
    env = os.environ | {
        "VARDKEDJA_DATABASE_URL": url,
        "VARDKEDJA_AUDIT_KEY": key.decode(),
        "VARDKEDJA_AUDIT_PREVIOUS_KEYS": ",".join(k.decode() for k in retired),
        "VARDKEDJA_PSEUDONYM_KEY": "the-pseudonym-key",
        "VARDKEDJA_JWT_SECRET": TEST_SECRET,
        "VARDKEDJA_DATA_DIR": str(tmp_path / f"data-{port}"),
    }
    code = "import sys; from app.cli import main; sys.exit(main())"
    args = ["serve", "--no-demo", "--port", str(port)]
    process = Popen([sys.executable, "-c", code, *args], env=env, stderr=PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise AssertionError(f"the replica did not start: {process.communicate()[1]}")


def test_a_replica_left_under_a_rotated_key_writes_no_entry(
    fresh_database: Callable[[], str], tmp_path: Path
) -> None:
    """Two replicas: A starts under OLD; B starts under NEW with OLD retired (a rotation,
    which moves the fingerprint). A, still running under OLD, passed its start check long
    ago: its next audit write fails in the INSERT itself, so it answers 503 and writes
    nothing, while B serves."""
    url = fresh_database()
    migrate.upgrade(url)
    pnr = asyncio.run(_patient(url))
    token = mint(Settings(jwt_secret=TEST_SECRET), kind="system", subject="key-test")

    def ask(base: str) -> httpx.Response:
        return httpx.post(
            f"{base}/graphql",
            json={"query": QUERY, "variables": {"p": pnr}},
            headers={"authorization": f"Bearer {token}"},
        )

    a, a_url = _replica(url, OLD, tmp_path)
    b = None
    try:
        assert ask(a_url).status_code == 200
        assert asyncio.run(_entries(url)) == 1
        b, b_url = _replica(url, NEW, tmp_path, OLD)
        assert asyncio.run(_stored(url)) == [fingerprint(NEW)]
        assert ask(b_url).status_code == 200
        assert asyncio.run(_entries(url)) == 2
        refused = ask(a_url)
        assert refused.status_code == 503, refused.text
        assert refused.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert pnr not in refused.text and "Tolvan" not in refused.text
        assert asyncio.run(_entries(url)) == 2  # nothing written under the old key
        assert ask(b_url).status_code == 200
        assert asyncio.run(_entries(url)) == 3
    finally:
        for process in (a, b):
            if process is not None:
                process.terminate()
        logged = a.communicate(timeout=30)[1]
        if b is not None:
            b.communicate(timeout=30)
    assert "audit write refused: the audit trail is chained under another key" in logged
    assert OLD.decode() not in logged and NEW.decode() not in logged
