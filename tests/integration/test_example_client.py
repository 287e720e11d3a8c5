"""examples/client.py and examples/ts/ (TypeScript, plain fetch), run as a user runs them,
against a live server: a shipped operation by name, a connection paged through with cursors,
the change feed read to its end and then followed while the test writes to the record.

The TypeScript example is installed with `npm ci` from its committed package-lock.json and
compiled with its pinned `tsc`: without npm or the registry the test fails and says so."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app import migrate
from app.db import EmbeddedServer, create_engine
from app.main import create_app
from app.models import CareUnit, Patient
from app.settings import Settings
from app.tokens import mint
from tests import factories as f
from tests.conftest import TEST_SECRET
from tests.integration.privacy_world import build_world
from tests.live_server import live_server

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CLIENT = EXAMPLES / "client.py"


@dataclass
class Served:
    base: str
    url: str
    token: str
    pnr: str
    patient: Patient
    unit: CareUnit


async def _world(url: str) -> tuple[Patient, CareUnit, dict[str, str]]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            w = await build_world(conn)
            await f.create_alert(conn, w.patient, w.u, description="Penicillinallergi")
            for n in range(4):
                other = await f.create_patient(conn, family_name=f"Sidensson{n}")
                await f.create_care_relationship(conn, other, w.u)
    finally:
        await engine.dispose()
    return w.patient, w.u, {"x": w.x.hsa_id, "u": w.u.hsa_id, "a": w.a.hsa_id}


async def _write_alert(served: Served, description: str) -> None:
    engine = create_engine(served.url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await f.create_alert(conn, served.patient, served.unit, description=description)
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[str]:
    """A PostgreSQL of this module's own: the feed shows entries once no older transaction runs
    anywhere in the cluster (app/changes/feed.py), and a shared test server always has some."""
    folder = Path(tempfile.mkdtemp(prefix="vardkedja-examples-"))
    folder.chmod(0o755)
    server = EmbeddedServer(folder / "pgdata")
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def served(own_cluster: str) -> Iterator[Served]:
    url = own_cluster
    migrate.upgrade(url)
    patient, unit, ids = asyncio.run(_world(url))
    settings = Settings(jwt_secret=TEST_SECRET, audit_key="example-client", database_url=url)
    token = mint(
        settings,
        kind="clinician",
        subject=ids["x"],
        care_unit=ids["u"],
        care_provider=ids["a"],
        name="Doktor Testsson",
    )
    with live_server(create_app(settings, url=url)) as base:
        yield Served(base, url, token, patient.identifier, patient, unit)


@pytest.fixture(scope="module")
def ts_client(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """`node dist/client.js`, built from a copy of examples/ts/ as its README says."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("the TypeScript example needs node and npm (Node 18+) on PATH")
    folder = tmp_path_factory.mktemp("ts") / "client"
    shutil.copytree(EXAMPLES / "ts", folder, ignore=shutil.ignore_patterns("node_modules", "dist"))
    steps = [[npm, "ci", "--no-audit", "--no-fund"], [npm, "run", "build"]]
    for step in steps:
        done = subprocess.run(step, cwd=folder, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            said = [line for line in done.stderr.splitlines() if "complete log" not in line]
            pytest.fail(
                f"`npm {' '.join(step[1:])}` for examples/ts failed (is the npm registry "
                f"reachable?): {' / '.join(said[:3]) or 'no output'}"
            )
    return [node, str(folder / "dist" / "client.js")]


def _python() -> list[str]:
    return [sys.executable, str(CLIENT)]


def _run(client: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*client, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("language", ["python", "typescript"])
def test_the_example_opens_a_record_pages_and_reads_the_feed(
    language: str, served: Served, request: pytest.FixtureRequest
) -> None:
    client = _python() if language == "python" else request.getfixturevalue("ts_client")
    done = _run(
        client, "--url", served.base, "--token", served.token, "--page-size", "2", served.pnr
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"Tolvansson, Tolvan ({served.pnr})"
    assert "  alert: HYPERSENSITIVITY Penicillinallergi" in lines
    assert "patients visible to you: 5, fetched in 3 pages of 2" in lines
    [feed] = [line for line in lines if line.startswith("change feed: ")]
    changes, pages = (int(word) for word in feed.split() if word.isdigit())
    # The world's writes at the unit (patients, care relationships, the alert), two a page.
    assert changes >= 6 and pages == changes // 2 + 1, feed


def test_both_examples_print_the_same(served: Served, ts_client: list[str]) -> None:
    args = ("--url", served.base, "--token", served.token, "--page-size", "3", served.pnr)
    python, typescript = _run(_python(), *args), _run(ts_client, *args)
    assert python.returncode == typescript.returncode == 0, python.stderr + typescript.stderr
    assert python.stdout == typescript.stdout


@pytest.mark.parametrize("language", ["python", "typescript"])
def test_the_example_follows_the_feed_while_the_record_changes(
    language: str, served: Served, request: pytest.FixtureRequest
) -> None:
    client = _python() if language == "python" else request.getfixturevalue("ts_client")
    args = ["--url", served.base, "--token", served.token, "--follow-seconds", "60", served.pnr]
    with subprocess.Popen([*client, *args], stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        try:
            for line in process.stdout:
                if line.startswith("following the change feed"):
                    break
            else:
                raise AssertionError("the example never started following")
            asyncio.run(_write_alert(served, f"Ny varning ({language})"))
            rest = process.stdout.read().splitlines()
            assert process.wait(timeout=60) == 0
        finally:
            if process.poll() is None:
                process.kill()
    [change, done] = rest
    assert change.startswith("change: CREATED ALERT "), rest
    assert done == "followed: 1 new changes"


@pytest.mark.parametrize("language", ["python", "typescript"])
def test_the_example_reports_a_refusal_with_its_code(
    language: str, served: Served, request: pytest.FixtureRequest
) -> None:
    client = _python() if language == "python" else request.getfixturevalue("ts_client")
    done = _run(client, "--url", served.base, "--token", "not-a-token", served.pnr)
    assert done.returncode == 1
    assert "UNAUTHENTICATED" in done.stderr
