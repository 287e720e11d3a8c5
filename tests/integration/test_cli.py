"""The command line as a user meets it: serve starts, answers, stops cleanly and keeps its data;
bad arguments and unreachable databases give one readable line, never a traceback."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

VARDKEDJA = [sys.executable, "-m", "app"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VARDKEDJA_")}
    return env | extra


def test_unreachable_database_is_one_line_and_nonzero() -> None:
    port = _free_port()  # nothing listens there
    done = subprocess.run(
        [*VARDKEDJA, "serve", "--no-demo"],
        env=_env(
            VARDKEDJA_DATABASE_URL=f"postgresql://postgres@127.0.0.1:{port}/x",
            VARDKEDJA_DEVELOPMENT="true",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot reach database" in lines[0]


def test_wrong_arguments_are_one_line_pointing_at_help() -> None:
    done = subprocess.run(
        [*VARDKEDJA, "seed", "--patients", "many"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "vardkedja seed: error: argument --patients: 'many' is not a whole number"
        " (see vardkedja seed --help)"
    ]


def _wait_ready(base: str, proc: subprocess.Popen[str], seconds: float = 120) -> dict[str, str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _, err = proc.communicate()
            raise AssertionError(f"serve exited early: {err}")
        try:
            response = httpx.get(f"{base}/readyz", timeout=2)
            if response.status_code == 200:
                body: dict[str, str] = response.json()
                return body
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError("the server did not become ready")


def _serve(data_dir: Path, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*VARDKEDJA, "serve", "--port", str(port)],
        env=_env(VARDKEDJA_DATA_DIR=str(data_dir), VARDKEDJA_DEMO_PATIENTS="5"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """SIGTERM, then the exit code and what the server printed."""
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return proc.returncode, out


def test_serve_embedded_starts_answers_stops_and_keeps_data() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="vardkedja-serve-"))
    data_dir.chmod(0o755)
    try:
        _serve_twice(data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _serve_twice(data_dir: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _serve(data_dir, port)
    try:
        assert _wait_ready(base, proc)["status"] == "ready"
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        answer = httpx.post(f"{base}/graphql", json={"query": "{ __typename }"}).json()
        assert answer["data"] == {"__typename": "Query"}
    finally:
        code, printed = _stop(proc)
    assert code == 0
    assert "seeded" in printed, "an empty database gets the demo population"
    pgdata = data_dir / "pgdata"
    assert (pgdata / "PG_VERSION").exists(), "the data stays"
    assert not (pgdata / "postmaster.pid").exists(), "the embedded server was stopped"
    # Zero configuration: no key was set, the embedded default generated its own.
    for key in ("dev-audit-key", "dev-pseudonym-key"):
        assert (data_dir / key).read_text().strip(), key

    # A second start finds the same, already migrated and seeded database.
    proc = _serve(data_dir, port)
    try:
        assert _wait_ready(base, proc)["status"] == "ready"
    finally:
        code, printed = _stop(proc)
    assert code == 0
    assert "seeded" not in printed
