"""The multi-replica deployment of docs/operations.md in one run: two `serve` processes over
HTTPS, started together, behind one PgBouncer in transaction mode in front of a primary, with
a streaming standby for queries; read-your-writes across the two processes, and the audit
chain on the primary verifies."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import httpx

from app import migrate
from app.audit_verify import verify_chain
from app.db import create_engine
from tests.conftest import TEST_SECRET
from tests.integration.pgbouncer import _free_port, running_pgbouncer
from tests.integration.privacy_world import World
from tests.integration.standby import running_pair
from tests.integration.test_pgbouncer import _stop, _world
from tests.integration.test_read_replica import _caught_up, _titles, _write, fetch
from tests.integration.test_serve_tls import CODE, self_signed

KEY = "the-deployment-audit-key"
# Client sessions of the database other than the asking one, with and without TLS.
SESSIONS = (
    "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)"
    " WHERE datname = 'vardkedja' AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
)
ENCRYPTED, UNENCRYPTED = f"{SESSIONS} AND ssl", f"{SESSIONS} AND NOT ssl"


def _ready(base: str, trusted: ssl.SSLContext, processes: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert all(p.poll() is None for p in processes), "a replica exited at start"
        try:
            if httpx.get(f"{base}/readyz", verify=trusted, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{base} did not become ready")


async def _verified(url: str) -> tuple[bool, int]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            report = await verify_chain(conn, KEY.encode())
            return report.ok, report.checked
    finally:
        await engine.dispose()


def test_two_https_replicas_behind_pgbouncer_with_a_standby(tmp_path: Path) -> None:
    certfile, keyfile = self_signed(tmp_path)
    trusted = ssl.create_default_context(cafile=str(certfile))
    verified = f"?sslmode=verify-full&sslrootcert={certfile}"
    with (
        running_pair(tls=(certfile, keyfile)) as plain,
        # PgBouncer runs as postgres: the copy in the servers' folder is readable to it.
        running_pgbouncer(plain.primary_url, server_ca=plain.folder / "server.crt") as bouncer,
    ):
        # Every database connection is TLS with the certificate checked: the app's to the
        # primary (directly and through PgBouncer) and to the standby, and the fixture's own.
        pair = replace(
            plain,
            primary_url=plain.primary_url + verified,
            standby_url=plain.standby_url + verified,
        )
        world = asyncio.run(_world_after_migration(pair.primary_url))
        env = os.environ | {
            "VARDKEDJA_DATABASE_URL": bouncer,
            "VARDKEDJA_PGBOUNCER": "true",
            "VARDKEDJA_DIRECT_URL": pair.primary_url,
            "VARDKEDJA_REPLICA_URLS": pair.standby_url,
            "VARDKEDJA_REPLICA_WAIT": "0.4",
            "VARDKEDJA_AUDIT_KEY": KEY,
            "VARDKEDJA_PSEUDONYM_KEY": "the-deployment-pseudonym-key",
            "VARDKEDJA_JWT_SECRET": TEST_SECRET,
            "VARDKEDJA_RATE_LIMIT_PER_SECOND": "0",
            "VARDKEDJA_RATE_LIMIT_ADDRESS_PER_SECOND": "0",
        }
        tls = ["--ssl-certfile", str(certfile), "--ssl-keyfile", str(keyfile)]
        ports = [_free_port(), _free_port()]
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", CODE, "serve", "--no-demo", "--port", str(port), *tls],
                env=env | {"VARDKEDJA_DATA_DIR": str(tmp_path / f"data-{port}")},
            )
            for port in ports
        ]
        try:
            one, two = (f"https://127.0.0.1:{port}" for port in ports)
            _ready(one, trusted, processes)
            _ready(two, trusted, processes)
            _caught_up(pair)
            fetch(pair.standby_url, "SELECT pg_wal_replay_pause()")
            try:
                lsn = _write(one, world, "Skriven via replik ett", verify=trusted)
                # The other replica reads the standby: not there without the position, there
                # with it (from the primary, the standby being paused).
                assert "Skriven via replik ett" not in _titles(two, world, verify=trusted)
                assert "Skriven via replik ett" in _titles(two, world, lsn, verify=trusted)
            finally:
                fetch(pair.standby_url, "SELECT pg_wal_replay_resume()")
            _caught_up(pair)
            assert "Skriven via replik ett" in _titles(two, world, verify=trusted)
            # Sessions other than the asking one: all TLS, on both servers.
            for url in (pair.standby_url, pair.primary_url):
                assert fetch(url, ENCRYPTED) > 0 and fetch(url, UNENCRYPTED) == 0
        finally:
            for process in processes:
                _stop(process)
        ok, checked = asyncio.run(_verified(pair.primary_url))
        assert ok and checked > 0


async def _world_after_migration(url: str) -> World:
    await asyncio.to_thread(migrate.upgrade, url)
    return await _world(url)
