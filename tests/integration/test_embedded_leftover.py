"""The embedded PostgreSQL after a killed `vardkedja serve`: the next start finds the server left
running (postmaster.pid), reuses it, and its clean shutdown stops it; a postmaster.pid naming a
process that is no postgres of the folder does not stop a start."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from app import embedded_leftover
from app.db import EmbeddedServer
from tests.integration.test_cli import VARDKEDJA, _env, _free_port, _stop, _wait_ready


@pytest.fixture
def data_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="vardkedja-leftover-"))
    folder.chmod(0o755)  # the wheel runs PostgreSQL as its own user when we are root
    try:
        yield folder
    finally:
        pid = embedded_leftover.postmaster_pid(folder / "pgdata")
        if pid is not None:  # a failed test must not leave a server behind
            psutil.Process(pid).send_signal(signal.SIGINT)
            psutil.Process(pid).wait(30)
        shutil.rmtree(folder, ignore_errors=True)


def _serve(data_dir: Path, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*VARDKEDJA, "serve", "--no-demo", "--port", str(port)],
        env=_env(VARDKEDJA_DATA_DIR=str(data_dir)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _answers(base: str) -> bool:
    reply = httpx.post(f"{base}/graphql", json={"query": "{ __typename }"}, timeout=10)
    return bool(reply.json().get("data") == {"__typename": "Query"})


def _postgres_alive(pid: int) -> bool:
    try:
        process = psutil.Process(pid)
        return bool(process.name() == "postgres" and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _ready(pgdata: Path) -> bool:
    """The embedded server runs and accepts connections (postmaster.pid's status line)."""
    try:
        status = (pgdata / "postmaster.pid").read_text().splitlines()[7].strip()
    except (OSError, IndexError):
        return False
    return status == "ready" and embedded_leftover.postmaster_pid(pgdata) is not None


def _holders(pgdata: Path) -> list[int]:
    path = pgdata / embedded_leftover.HANDLES
    return list(json.loads(path.read_text())) if path.exists() else []


def test_a_server_left_by_kill_9_is_reused_then_stopped_cleanly(data_dir: Path) -> None:
    pgdata = data_dir / "pgdata"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"

    first = _serve(data_dir, port)
    try:
        _wait_ready(base, first)
    except BaseException:
        first.kill()
        first.communicate()
        raise
    left = embedded_leftover.postmaster_pid(pgdata)
    assert left is not None
    first.kill()  # SIGKILL: no cleanup at all
    first.communicate()
    assert embedded_leftover.postmaster_pid(pgdata) == left, "the server outlives its holder"
    assert first.pid in _holders(pgdata), "and the killed holder is still listed"

    second = _serve(data_dir, port)
    try:
        assert _wait_ready(base, second)["status"] == "ready"
        assert _answers(base)
        assert embedded_leftover.postmaster_pid(pgdata) == left, "the running server is reused"
        assert first.pid not in _holders(pgdata)
    finally:
        code, _ = _stop(second)
    assert code == 0
    assert not _postgres_alive(left)
    assert not (pgdata / "postmaster.pid").exists(), "the clean shutdown stopped it"
    assert _holders(pgdata) == []


def test_a_stale_postmaster_pid_of_a_living_stranger_is_removed(data_dir: Path) -> None:
    pgdata = data_dir / "pgdata"
    server = EmbeddedServer(pgdata)
    server.start()
    server.stop()
    assert not (pgdata / "postmaster.pid").exists()

    # After a reboot the pid in postmaster.pid may belong to anyone: here, a sleeping process.
    # PostgreSQL refuses to start while that pid lives; the wheel would think it is running.
    stranger = subprocess.Popen(["sleep", "120"])
    gone = subprocess.Popen(["true"])
    gone.wait()
    try:
        lines = [str(stranger.pid), str(pgdata), "1700000000", "5432", str(pgdata), "", "0 0"]
        (pgdata / "postmaster.pid").write_text("\n".join([*lines, "ready   "]) + "\n")
        # Holders that are gone, or whose pid now names a process younger than the list.
        handles = pgdata / embedded_leftover.HANDLES
        handles.write_text(json.dumps([gone.pid, stranger.pid]))
        listed_at = time.time() - 60
        os.utime(handles, (listed_at, listed_at))

        url = server.start()
        try:
            running = embedded_leftover.postmaster_pid(pgdata)
            assert running is not None and running != stranger.pid
            assert url.startswith("postgresql://")
        finally:
            server.stop()
        assert stranger.poll() is None, "the stranger is left alone"
        assert not (pgdata / "postmaster.pid").exists()
        assert not _postgres_alive(running)
    finally:
        stranger.kill()
        stranger.wait()


@pytest.mark.parametrize("after", [0.0, 1.0, 4.0], ids=["starting", "migrating", "seeding"])
def test_sigterm_while_serve_starts_stops_the_embedded_server(data_dir: Path, after: float) -> None:
    pgdata = data_dir / "pgdata"
    proc = subprocess.Popen(
        [*VARDKEDJA, "serve", "--port", str(_free_port())],
        env=_env(VARDKEDJA_DATA_DIR=str(data_dir), VARDKEDJA_DEMO_PATIENTS="200000"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not _ready(pgdata):
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)
        running = embedded_leftover.postmaster_pid(pgdata)
        assert running is not None
        time.sleep(after)  # then migrating, then loading 200,000 demo patients: not serving
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert err.strip().splitlines()[-1] == (
        "stopped while starting (SIGTERM); the data stays as it was"
    )
    assert not _postgres_alive(running), "the embedded server was stopped on the way out"
    assert not (pgdata / "postmaster.pid").exists()
