"""Serving an external database needs a configured audit key and pseudonym key, unless
VARDKEDJA_DEVELOPMENT=true: `vardkedja serve` and the ASGI factory (uvicorn --factory) both
refuse in one line with exit code 1. The embedded default still generates its keys."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from app import migrate
from tests.live_server import free_port

SERVE = [sys.executable, "-c", "import sys; from app.cli import main; sys.exit(main())", "serve"]
UVICORN = [sys.executable, "-m", "uvicorn", "--factory", "app.asgi:create", "--host", "127.0.0.1"]


@pytest.fixture(scope="module")
def migrated(fresh_database: Callable[[], str]) -> str:
    url = fresh_database()
    migrate.upgrade(url)
    return url


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VARDKEDJA_")}
    return env | {"VARDKEDJA_DATA_DIR": str(tmp_path / "data")} | extra


def _refusal(argv: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.parametrize("runner", ["serve", "uvicorn"])
@pytest.mark.parametrize(
    ("keys", "missing"),
    [
        ({}, "VARDKEDJA_AUDIT_KEY and VARDKEDJA_PSEUDONYM_KEY must be set"),
        ({"VARDKEDJA_AUDIT_KEY": "k1"}, "VARDKEDJA_PSEUDONYM_KEY must be set"),
        ({"VARDKEDJA_PSEUDONYM_KEY": "k2"}, "VARDKEDJA_AUDIT_KEY must be set"),
    ],
    ids=["neither", "no pseudonym key", "no audit key"],
)
def test_an_external_database_without_keys_is_refused(
    runner: str, keys: dict[str, str], missing: str, migrated: str, tmp_path: Path
) -> None:
    argv = [*SERVE, "--no-demo"] if runner == "serve" else UVICORN
    env = _env(tmp_path, VARDKEDJA_DATABASE_URL=migrated, **keys)
    line = _refusal([*argv, "--port", str(free_port())], env)
    assert line.startswith("error: " + missing), line
    assert "VARDKEDJA_DEVELOPMENT=true" in line
    assert not (tmp_path / "data").exists(), "nothing generated for a refused start"


def test_the_factory_needs_a_database_url(tmp_path: Path) -> None:
    line = _refusal([*UVICORN, "--port", str(free_port())], _env(tmp_path))
    assert "needs VARDKEDJA_DATABASE_URL" in line


@pytest.fixture
def started() -> Iterator[Callable[[list[str], dict[str, str], int], None]]:
    running: list[subprocess.Popen[str]] = []

    def start(argv: list[str], env: dict[str, str], port: int) -> None:
        process = subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        running.append(process)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"exited early: {process.communicate()[1]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise AssertionError("not ready in time")

    yield start
    for process in running:
        process.terminate()
        process.communicate(timeout=60)


@pytest.mark.parametrize("runner", ["serve", "uvicorn"])
def test_development_mode_or_both_keys_start(
    runner: str,
    migrated: str,
    tmp_path: Path,
    started: Callable[[list[str], dict[str, str], int], None],
) -> None:
    argv = [*SERVE, "--no-demo"] if runner == "serve" else UVICORN
    trial = _env(tmp_path, VARDKEDJA_DATABASE_URL=migrated, VARDKEDJA_DEVELOPMENT="true")
    port = free_port()
    started([*argv, "--port", str(port)], trial, port)
    # Development mode generated the keys in the data dir, as the embedded default does.
    assert (tmp_path / "data" / "dev-audit-key").exists()
    assert (tmp_path / "data" / "dev-pseudonym-key").exists()
    keys = {"VARDKEDJA_AUDIT_KEY": "a" * 32, "VARDKEDJA_PSEUDONYM_KEY": "p" * 32}
    deployed = _env(tmp_path / "deployed", VARDKEDJA_DATABASE_URL=migrated, **keys)
    port = free_port()
    started([*argv, "--port", str(port)], deployed, port)
    assert not (tmp_path / "deployed" / "data" / "dev-audit-key").exists()


def test_keys_from_files_start_the_server(
    migrated: str, tmp_path: Path, started: Callable[[list[str], dict[str, str], int], None]
) -> None:
    # Docker and Kubernetes secrets arrive as files: VARDKEDJA_<NAME>_FILE names them.
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "audit").write_text("a" * 32 + "\n")
    (secrets / "pseudonym").write_text("p" * 32 + "\n")
    (secrets / "url").write_text(migrated + "\n")
    files = {
        "VARDKEDJA_AUDIT_KEY_FILE": str(secrets / "audit"),
        "VARDKEDJA_PSEUDONYM_KEY_FILE": str(secrets / "pseudonym"),
        "VARDKEDJA_DATABASE_URL_FILE": str(secrets / "url"),
    }
    port = free_port()
    started([*UVICORN, "--port", str(port)], _env(tmp_path, **files), port)
    assert not (tmp_path / "data" / "dev-audit-key").exists(), "the files' keys were used"
