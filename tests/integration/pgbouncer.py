"""A real PgBouncer in transaction pooling mode in front of the test server, for the tests.

It is installed from Debian (`apt-get install -y pgbouncer`) when missing and we are root; if it
cannot be, the test fails (not skips): CI must run the PgBouncer tests.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from app.db import to_plain_url
from tests.debian import ensure_package

BINARY = "/usr/sbin/pgbouncer"
# Fewer server sessions than client connections: every transaction may land on another one.
SERVER_SESSIONS = 4


def installed() -> str:
    """The pgbouncer binary, installing the Debian package first when it is missing."""
    found = shutil.which("pgbouncer")
    return found or ensure_package(BINARY, "pgbouncer")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_pgbouncer(
    server_url: str, server_sessions: int = SERVER_SESSIONS, server_ca: Path | None = None
) -> Iterator[str]:
    """Start PgBouncer on 127.0.0.1 in front of `server_url`'s server; yield the same URL
    through it (trust authentication, as the test server has); stop it afterwards."""
    binary = installed()
    target = make_url(to_plain_url(server_url))
    port = _free_port()
    folder = Path(tempfile.mkdtemp(prefix="vardkedja-pgbouncer-"))
    folder.chmod(0o755)
    user = target.username or "postgres"
    # The embedded server listens on a Unix socket in its data folder (given as ?host=).
    host = str(target.query.get("host") or target.host or "127.0.0.1")
    (folder / "userlist.txt").write_text(f'"{user}" ""\n')
    settings = [
        "[databases]",
        f"* = host={host} port={target.port or 5432}",
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        f"listen_port = {port}",
        "unix_socket_dir =",
        "auth_type = trust",
        f"auth_file = {folder / 'userlist.txt'}",
        "pool_mode = transaction",
        f"default_pool_size = {server_sessions}",
        "max_client_conn = 500",
        "ignore_startup_parameters = extra_float_digits",
    ]
    if server_ca is not None:  # to the server over TLS, its certificate checked
        settings += ["server_tls_sslmode = verify-full", f"server_tls_ca_file = {server_ca}"]
    if os.geteuid() == 0:
        # PgBouncer refuses to run as root: it runs as the owner of the server's socket
        # folder (who alone may enter it), or as postgres in front of a TCP server.
        owner = pwd.getpwuid(os.stat(host).st_uid).pw_name if host.startswith("/") else ""
        settings.append(f"user = {owner if owner not in ('', 'root') else 'postgres'}")
    config = folder / "pgbouncer.ini"
    config.write_text("\n".join(settings) + "\n")
    for path in folder.iterdir():
        path.chmod(0o644)
    process = subprocess.Popen(
        [binary, str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited with {process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("pgbouncer did not start") from None
                time.sleep(0.1)
        through = target.set(host="127.0.0.1", port=port, query={})
        yield through.render_as_string(hide_password=False)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)
