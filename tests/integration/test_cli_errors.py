"""Every bad input to the command line gets one line naming the problem and a non-zero exit code
(2: bad arguments, 1: anything else), never a traceback, and nothing is written.

The table runs in process (app.cli.main, output captured); a few cases run the real entry point
in a subprocess, where logging reaches standard error as a user sees it."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from app import cli
from app.db import to_plain_url
from app.settings import Settings, get_settings
from tests.integration.test_cli import _free_port

VARDKEDJA = [sys.executable, "-m", "app"]
PNR = "191212121212"


@dataclass(frozen=True)
class Case:
    id: str
    argv: list[str]
    code: int
    says: str  # a part of the one line
    env: dict[str, str] = field(default_factory=dict)


# {tmp}: the test's folder (see _files); {db}: the database URL; {busy}: a port in use.
CASES = [
    # import-fhir: files that are no FHIR JSON, or nothing to import
    Case("import truncated", ["import-fhir", "{tmp}/truncated.json"], 1, "not FHIR JSON"),
    Case("import empty", ["import-fhir", "{tmp}/empty.json"], 2, "empty.json is empty"),
    Case("import binary", ["import-fhir", "{tmp}/binary.json"], 1, "not FHIR JSON"),
    Case("import array", ["import-fhir", "{tmp}/array.json"], 1, "not an array"),
    Case("import scalar", ["import-fhir", "{tmp}/scalar.json"], 1, "not a single value"),
    Case("import missing", ["import-fhir", "{tmp}/nothere.json"], 2, "no such file"),
    Case("import folder", ["import-fhir", "{tmp}/folder"], 2, "without *.ndjson files"),
    Case("import empty ndjson", ["import-fhir", "{tmp}/ndjson"], 1, "nothing was written"),
    Case("import device", ["import-fhir", "/dev/null"], 2, "not a regular file"),
    Case("import chunk 0", ["import-fhir", "{tmp}/bundle.json", "--chunk-size", "0"], 2, "1 or"),
    Case("import nothing", ["import-fhir", "{tmp}/bundle.json"], 1, "nothing was written"),
    # export-fhir: a garbage id, places that cannot be written
    Case("export garbage id", ["export-fhir", "--patient", "garbage"], 2, "personnummer"),
    Case("export bad pnr", ["export-fhir", "--patient", "191212121213"], 2, "check digit"),
    Case(
        "export out under file",
        ["export-fhir", "--patient", PNR, "--out", "{tmp}/blocker/x.json"],
        2,
        "is not a folder",
    ),
    Case(
        "export out is folder",
        ["export-fhir", "--patient", PNR, "--out", "{tmp}/folder"],
        2,
        "is a folder",
    ),
    Case("export ndjson file", ["export-fhir", "--ndjson", "{tmp}/blocker"], 2, "not a folder"),
    Case(
        "export ndjson under file",
        ["export-fhir", "--ndjson", "{tmp}/blocker/sub"],
        2,
        "not a folder",
    ),
    Case(
        "export batch 0",
        ["export-fhir", "--ndjson", "{tmp}/out", "--batch-size", "0"],
        2,
        "1 or more",
    ),
    Case(
        "export research patient",
        ["export-fhir", "--patient", PNR, "--research-client", "x"],
        2,
        "--ndjson only",
    ),
    Case(
        "export out with ndjson",
        ["export-fhir", "--ndjson", "{tmp}/out", "--out", "{tmp}/x.json"],
        2,
        "--patient only",
    ),
    Case("export neither", ["export-fhir"], 2, "one of the arguments"),
    # audit verify: checkpoint files
    Case("audit checkpoint folder", ["audit", "verify", "--checkpoint", "{tmp}"], 2, "folder"),
    Case(
        "audit checkpoint damaged",
        ["audit", "verify", "--checkpoint", "{tmp}/damaged.checkpoint"],
        1,
        "is damaged",
    ),
    Case(
        "audit checkpoint binary",
        ["audit", "verify", "--checkpoint", "{tmp}/binary.json"],
        1,
        "not a text file",
    ),
    Case(
        "audit checkpoint no folder",
        ["audit", "verify", "--checkpoint", "{tmp}/nothere/head"],
        2,
        "does not exist",
    ),
    Case("audit batch 0", ["audit", "verify", "--batch-size", "0"], 2, "1 or more"),
    Case("audit no action", ["audit"], 2, "required"),
    # seed
    Case("seed huge", ["seed", "--patients", "1" + "0" * 20], 2, "at most 10,000,000"),
    Case("seed negative", ["seed", "--patients", "-1"], 2, "0 or more"),
    Case("seed words", ["seed", "--patients", "many"], 2, "not a whole number"),
    Case("seed bad seed", ["seed", "--patients", "1", "--seed", "x"], 2, "invalid int"),
    # serve: ports and addresses, refused before the database starts
    Case("serve port huge", ["serve", "--port", "99999"], 2, "at most 65,535"),
    Case("serve port 0", ["serve", "--port", "0"], 2, "1 or more"),
    Case("serve port env", ["serve"], 1, "VARDKEDJA_PORT", {"VARDKEDJA_PORT": "99999"}),
    Case("serve port env 0", ["serve"], 1, "VARDKEDJA_PORT", {"VARDKEDJA_PORT": "0"}),
    Case("serve port in use", ["serve", "--port", "{busy}"], 1, "cannot listen"),
    Case("serve foreign address", ["serve", "--host", "192.0.2.1"], 1, "cannot listen"),
    # database URLs
    Case(
        "url bad port",
        ["migrate"],
        1,
        "the port must be 1-65535",
        {"VARDKEDJA_DATABASE_URL": "postgresql://u@127.0.0.1:99999/db"},
    ),
    Case(
        "url port words",
        ["migrate"],
        1,
        "bad host or port",
        {"VARDKEDJA_DATABASE_URL": "postgresql://u@db:abc/db"},
    ),
    Case(
        "url ipv6 no brackets",
        ["migrate"],
        1,
        "needs brackets",
        {"VARDKEDJA_DATABASE_URL": "postgresql://u@::1:5432/db"},
    ),
    Case(
        "url ipv6 unclosed",
        ["migrate"],
        1,
        "bad host or port",
        {"VARDKEDJA_DATABASE_URL": "postgresql://u@[::1:5432/db"},
    ),
    Case(
        "url scheme",
        ["migrate"],
        1,
        "must start with postgresql://",
        {"VARDKEDJA_DATABASE_URL": "mysql://u@db/db"},
    ),
    Case(
        "url ipv6 unreachable",
        ["migrate"],
        1,
        "cannot reach database postgresql://[::1]:",
        {"VARDKEDJA_DATABASE_URL": "postgresql://u@[::1]:{free}/db"},
    ),
    # settings and the data dir
    Case(
        "data dir under file",
        ["migrate"],
        1,
        "cannot keep the embedded PostgreSQL",
        {"VARDKEDJA_DATA_DIR": "{tmp}/blocker/data", "VARDKEDJA_DATABASE_URL": ""},
    ),
    Case(
        "pgdata is a file",
        ["migrate"],
        1,
        "pgdata is not a folder",
        {"VARDKEDJA_DATA_DIR": "{tmp}/filedata", "VARDKEDJA_DATABASE_URL": ""},
    ),
    Case(
        "pgdata is broken",
        ["migrate"],
        1,
        "did not start (postgres: could not access the server configuration file",
        {"VARDKEDJA_DATA_DIR": "{tmp}/brokendata", "VARDKEDJA_DATABASE_URL": ""},
    ),
    Case("pool size", ["migrate"], 1, "VARDKEDJA_POOL_SIZE", {"VARDKEDJA_POOL_SIZE": "many"}),
    Case(
        "demo patients",
        ["serve"],
        1,
        "VARDKEDJA_DEMO_PATIENTS",
        {"VARDKEDJA_DEMO_PATIENTS": "-5"},
    ),
    # token
    Case(
        "token unwritable data dir",
        ["token", "--as", "patient"],
        1,
        "cannot keep the development JWT secret",
        {"VARDKEDJA_DATA_DIR": "{tmp}/blocker/data"},
    ),
    Case(
        "token with jwks",
        ["token", "--as", "patient"],
        1,
        "a JWKS is configured",
        {"VARDKEDJA_JWKS_URL": "https://idp.example/jwks"},
    ),
    Case("token hours huge", ["token", "--as", "patient", "--hours", "1e30"], 2, "at most"),
    Case("token hours nan", ["token", "--as", "patient", "--hours", "nan"], 2, "at most"),
    Case("token hours 0", ["token", "--as", "patient", "--hours", "0"], 2, "above 0"),
    Case("token purpose", ["token", "--as", "patient", "--purpose", "x"], 2, "none of TREAT"),
    Case("token role", ["token", "--as", "king"], 2, "invalid choice"),
    Case("token who", ["token", "--as", "patient", "--who", "nobody"], 2, "unknown demo"),
    Case(
        "token represents",
        ["token", "--as", "guardian", "--represents", "x"],
        2,
        "personnummer",
    ),
    # the command itself
    Case("no command", [], 2, "required"),
    Case("unknown command", ["frobnicate"], 2, "invalid choice"),
]


@pytest.fixture(scope="module")
def cli_database(fresh_database: Callable[[], str]) -> str:
    from app import migrate

    url = fresh_database()
    migrate.upgrade(url)
    return url


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield int(held.getsockname()[1])


def _files(tmp: Path) -> None:
    (tmp / "truncated.json").write_text('{"resourceType": "Bun')
    (tmp / "empty.json").write_bytes(b"")
    (tmp / "binary.json").write_bytes(bytes(range(256)) * 4)
    (tmp / "array.json").write_text('[{"resourceType": "Patient"}]')
    (tmp / "scalar.json").write_text('"Patient"')
    (tmp / "bundle.json").write_text('{"resourceType": "Bundle", "type": "batch", "entry": []}')
    (tmp / "damaged.checkpoint").write_text("0:12\nnot a head\n")
    (tmp / "blocker").write_text("a file where a folder should be")
    (tmp / "folder").mkdir()
    (tmp / "ndjson").mkdir()
    (tmp / "ndjson" / "Patient.ndjson").write_bytes(b"")
    (tmp / "filedata").mkdir()
    (tmp / "filedata" / "pgdata").write_text("a file where the data folder should be")
    (tmp / "brokendata" / "pgdata").mkdir(parents=True)
    (tmp / "brokendata" / "pgdata" / "PG_VERSION").write_text("18\n")


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def _lines(captured: Any) -> list[str]:
    return [line for line in (captured.out + captured.err).splitlines() if line.strip()]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_non_zero(
    case: Case,
    tmp_path: Path,
    cli_database: str,
    busy_port: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _files(tmp_path)
    values = {"tmp": str(tmp_path), "busy": str(busy_port), "free": str(_free_port())}
    env = {"VARDKEDJA_DATABASE_URL": cli_database, "VARDKEDJA_DATA_DIR": str(tmp_path / "data")}
    for name in [k for k in os.environ if k.startswith("VARDKEDJA_")]:
        monkeypatch.delenv(name)
    for name, value in (env | case.env).items():
        if value:
            monkeypatch.setenv(name, _fill(value, values))
    get_settings.cache_clear()
    try:
        code = _exit_code(lambda: cli.main([_fill(a, values) for a in case.argv]))
    finally:
        get_settings.cache_clear()
    lines = _lines(capsys.readouterr())
    assert code == case.code, lines
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    assert case.says in lines[0]
    assert not (tmp_path / "out").exists(), "nothing was written"
    assert asyncio.run(_rows(cli_database)) == (0, 0), "no patient, no audit entry"


async def _rows(url: str) -> tuple[int, int]:
    conn = await asyncpg.connect(to_plain_url(url))
    try:
        patients = await conn.fetchval("SELECT count(*) FROM patient")
        audits = await conn.fetchval("SELECT count(*) FROM audit_entry")
        return int(patients), int(audits)
    finally:
        await conn.close()


def _exit_code(run: Callable[[], int]) -> int:
    """main's return value, or the code of the SystemExit argparse raises."""
    try:
        return run()
    except SystemExit as stop:
        return int(stop.code or 0)


def _explode(args: argparse.Namespace, settings: Settings) -> int:
    raise RuntimeError("boom\nsecond line")


def test_an_unexpected_error_is_one_line_and_a_traceback_only_with_debug(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("VARDKEDJA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)
    monkeypatch.setitem(cli.COMMANDS, "explode", cli.Command("explode", "fails", _noargs, _explode))
    get_settings.cache_clear()
    assert cli.main(["explode"]) == 1
    assert _lines(capsys.readouterr()) == [
        "error: unexpected RuntimeError: boom (run with --debug or VARDKEDJA_DEBUG=1 for the"
        " traceback)"
    ]
    assert not caplog.records

    with caplog.at_level(logging.ERROR, logger="vardkedja.cli"):
        assert cli.main(["--debug", "explode"]) == 1
    assert _lines(capsys.readouterr()) == ["error: unexpected RuntimeError: boom"]
    [record] = caplog.records
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    get_settings.cache_clear()


def _noargs(parser: argparse.ArgumentParser) -> None:
    pass


def _subprocess(argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VARDKEDJA_")}
    return subprocess.run(
        [*VARDKEDJA, *argv],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("argv", "env", "code", "says"),
    [
        (["serve", "--port", "99999"], {}, 2, "must be at most 65,535"),
        (["serve"], {"VARDKEDJA_PORT": "65536"}, 1, "VARDKEDJA_PORT"),
        (["token", "--as", "patient"], {"VARDKEDJA_DATA_DIR": "{tmp}/blocker/d"}, 1, "JWT"),
        (["migrate"], {"VARDKEDJA_DATABASE_URL": "postgresql://u@h:99999/x"}, 1, "1-65535"),
        (["import-fhir", "{tmp}/truncated.json"], {"VARDKEDJA_DATABASE_URL": "{db}"}, 1, "JSON"),
    ],
    ids=["serve port", "port env", "token data dir", "url port", "import truncated"],
)
def test_the_real_entry_point_prints_one_line(
    argv: list[str], env: dict[str, str], code: int, says: str, tmp_path: Path, cli_database: str
) -> None:
    _files(tmp_path)
    values = {"tmp": str(tmp_path), "db": cli_database}
    env = {"VARDKEDJA_DATA_DIR": str(tmp_path / "data")} | env
    done = _subprocess(
        [_fill(a, values) for a in argv], **{k: _fill(v, values) for k, v in env.items()}
    )
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == code, lines
    assert len(lines) == 1, lines
    assert says in lines[0] and "Traceback" not in lines[0]


def test_a_seed_loaded_twice_is_one_line(
    fresh_database: Callable[[], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("VARDKEDJA_DATABASE_URL", fresh_database())
    monkeypatch.setenv("VARDKEDJA_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        assert cli.main(["seed", "--patients", "1", "--seed", "5"]) == 0
        assert "seeded 1 patients" in capsys.readouterr().out
        assert cli.main(["seed", "--patients", "1", "--seed", "5"]) == 1
    finally:
        get_settings.cache_clear()
    assert _lines(capsys.readouterr()) == [
        "error: this seed is already loaded in the database: use another --seed"
    ]
