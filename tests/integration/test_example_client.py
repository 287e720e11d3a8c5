"""examples/client.py, run as a user runs it, against a live server: a shipped operation by
name, and a connection paged through with cursors."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import migrate
from app.db import create_engine
from app.main import create_app
from app.settings import Settings
from app.tokens import mint
from tests import factories as f
from tests.conftest import TEST_SECRET
from tests.integration.privacy_world import build_world
from tests.live_server import live_server

CLIENT = Path(__file__).resolve().parents[2] / "examples" / "client.py"


async def _world(url: str) -> dict[str, Any]:
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
    return {"pnr": w.patient.identifier, "x": w.x.hsa_id, "u": w.u.hsa_id, "a": w.a.hsa_id}


@pytest.fixture(scope="module")
def served(fresh_database: object) -> Iterator[tuple[str, dict[str, Any], str]]:
    url: str = fresh_database()  # type: ignore[operator]
    migrate.upgrade(url)
    world = asyncio.run(_world(url))
    settings = Settings(jwt_secret=TEST_SECRET, audit_key="example-client", database_url=url)
    token = mint(
        settings,
        kind="clinician",
        subject=world["x"],
        care_unit=world["u"],
        care_provider=world["a"],
        name="Doktor Testsson",
    )
    with live_server(create_app(settings, url=url)) as base:
        yield base, world, token


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CLIENT), *args], capture_output=True, text=True, timeout=120
    )


def test_the_python_example_opens_a_record_and_pages_through_patients(
    served: tuple[str, dict[str, Any], str],
) -> None:
    base, world, token = served
    done = _run("--url", base, "--token", token, "--page-size", "2", world["pnr"])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"Tolvansson, Tolvan ({world['pnr']})"
    assert "  alert: HYPERSENSITIVITY Penicillinallergi" in lines
    assert lines[-1] == "patients visible to you: 5, fetched in 3 pages of 2"


def test_the_python_example_reports_a_refusal_with_its_code(
    served: tuple[str, dict[str, Any], str],
) -> None:
    base, world, _ = served
    done = _run("--url", base, "--token", "not-a-token", world["pnr"])
    assert done.returncode == 1
    assert "UNAUTHENTICATED" in done.stderr
