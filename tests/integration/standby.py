"""A primary PostgreSQL and a streaming standby of it, both started here on 127.0.0.1, for the
read replica tests: the primary by initdb, the standby by `pg_basebackup -R` from it.

The machine's own server is not set up for replication, so the fixture makes its own pair
(PostgreSQL 15's binaries, /usr/lib/postgresql/15/bin or PG_BINDIR), runs them as `postgres`
when the tests run as root (PostgreSQL refuses root), and stops and removes both afterwards.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.integration.pgbouncer import _free_port

BINDIR = Path(os.environ.get("PG_BINDIR", "/usr/lib/postgresql/15/bin"))


@dataclass(frozen=True)
class Pair:
    primary_url: str
    standby_url: str
    folder: Path


def _runner() -> tuple[str | None, int | None, int | None]:
    """Who runs the servers: `postgres` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None, None, None
    user = pwd.getpwnam("postgres")
    return user.pw_name, user.pw_uid, user.pw_gid


def _run(args: list[str], user: str | None) -> None:
    done = subprocess.run(
        [str(BINDIR / args[0]), *args[1:]], user=user, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")


def _options(port: int, sockets: Path) -> str:
    # Throwaway clusters: no fsync; the standby replays as soon as WAL arrives.
    options = (
        f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={sockets}"
        " -c fsync=off -c full_page_writes=off"
        " -c shared_buffers=32MB -c max_connections=60"
    )
    if (sockets / "server.key").exists():  # running_pair(tls=...)
        options += (
            f" -c ssl=on -c ssl_cert_file={sockets / 'server.crt'}"
            f" -c ssl_key_file={sockets / 'server.key'}"
        )
    return options


def _start(data: Path, port: int, folder: Path, user: str | None) -> None:
    log = folder / f"{data.name}.log"
    _run(
        [
            "pg_ctl",
            "-D",
            str(data),
            "-l",
            str(log),
            "-w",
            "-t",
            "60",
            "-o",
            _options(port, folder),
            "start",
        ],
        user,
    )


def _stop(data: Path, user: str | None) -> None:
    subprocess.run(
        [str(BINDIR / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
        user=user,
        capture_output=True,
        timeout=60,
    )


def stop_standby(pair: Pair) -> None:
    _stop(pair.folder / "standby", _runner()[0])


def start_standby(pair: Pair) -> None:
    port = urllib.parse.urlsplit(pair.standby_url).port
    assert port is not None
    _start(pair.folder / "standby", port, pair.folder, _runner()[0])


@contextmanager
def running_pair(
    database: str = "vardkedja", tls: tuple[Path, Path] | None = None
) -> Iterator[Pair]:
    """Start a primary and a streaming standby; yield their URLs of `database` (created on the
    primary before the base backup); stop both and remove their data afterwards. With `tls`
    (a certificate for 127.0.0.1 and its key, PEM) both servers also accept TLS."""
    user, uid, gid = _runner()
    folder = Path(tempfile.mkdtemp(prefix="vardkedja-standby-"))
    folder.chmod(0o755)
    if tls is not None:
        shutil.copyfile(tls[0], folder / "server.crt")
        shutil.copyfile(tls[1], folder / "server.key")
        (folder / "server.key").chmod(0o600)  # PostgreSQL refuses a key others can read
    if uid is not None and gid is not None:
        for path in (folder, *folder.iterdir()):
            os.chown(path, uid, gid)
    primary, standby = folder / "primary", folder / "standby"
    primary_port, standby_port = _free_port(), _free_port()
    started: list[Path] = []
    try:
        _run(["initdb", "-D", str(primary), "-U", "postgres", "-A", "trust", "--no-sync"], user)
        _start(primary, primary_port, folder, user)
        started.append(primary)
        where = ["-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres"]
        _run(["createdb", *where, database], user)
        # -R writes primary_conninfo and standby.signal: the copy starts as a streaming standby.
        backup = ["-D", str(standby), "-R", "-X", "stream", "--no-sync", "--checkpoint=fast"]
        _run(["pg_basebackup", *where, *backup], user)
        _start(standby, standby_port, folder, user)
        started.append(standby)
        yield Pair(
            f"postgresql://postgres@127.0.0.1:{primary_port}/{database}",
            f"postgresql://postgres@127.0.0.1:{standby_port}/{database}",
            folder,
        )
    finally:
        for data in reversed(started):
            _stop(data, user)
        shutil.rmtree(folder, ignore_errors=True)
