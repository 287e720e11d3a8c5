"""`vardkedja token` signs a JWT: it must not import the application (the schema, GraphQL, the
database driver, the models), which made it take seconds. Checked in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jwt

HEAVY = {"schema", "resolvers", "strawberry", "graphql", "sqlalchemy", "sqlmodel", "asyncpg"}
HEAVY |= {"alembic", "uvicorn", "starlette", "faker", "app.db", "app.models", "app.seed.loader"}

PROBE = """
import json, sys
from app.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in {heavy}))
print(json.dumps({{"code": code, "heavy": heavy}}))
"""


def _run(tmp_path: Path, *argv: str) -> tuple[dict[str, object], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VARDKEDJA_")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=repr(HEAVY)), *argv],
        env=env | {"VARDKEDJA_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    token, report = done.stdout.strip().splitlines()
    result: dict[str, object] = json.loads(report)
    return result, token


def test_token_imports_nothing_heavy(tmp_path: Path) -> None:
    result, token = _run(tmp_path, "token", "--as", "clinician")
    assert result == {"code": 0, "heavy": []}
    secret = (tmp_path / "dev-jwt-secret").read_text().strip()
    claims = jwt.decode(token, secret, algorithms=["HS256"], audience="vardkedja")
    assert claims["kind"] == "clinician"


def test_the_probe_sees_heavy_imports(tmp_path: Path) -> None:
    """The same probe after a command that does import the schema: the check can fail."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VARDKEDJA_")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=repr(HEAVY)), "export-schema", "--check"],
        env=env | {"VARDKEDJA_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert "strawberry" in report["heavy"] and "schema" in report["heavy"]
