"""The command line's pieces that need no database: argument types, one-line messages, and the
constants the light command modules copy from the heavy ones they no longer import."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pytest

from app import cli
from app.access.principal import Purpose
from app.db import DatabaseUnavailable, describe_url
from app.settings import SettingsError, check_database_url


def test_count_bounds() -> None:
    port = cli.tcp_port
    assert port("1") == 1 and port("65535") == 65535
    for bad, says in (("0", "1 or more"), ("65536", "at most 65,535"), ("x", "whole number")):
        with pytest.raises(argparse.ArgumentTypeError, match=says):
            port(bad)


def test_describe_names_the_problem_in_one_line() -> None:
    assert cli.describe(cli.CommandError("a\nb")) == "a"
    assert cli.describe(SettingsError("bad setting")) == "bad setting"
    assert cli.describe(DatabaseUnavailable("down")) == "down"
    missing = FileNotFoundError(2, "No such file or directory", "/x/y")
    assert cli.describe(missing) == "/x/y: No such file or directory"
    assert cli.describe(KeyError("k")).startswith("unexpected KeyError: 'k' (run with --debug")
    assert cli.describe(KeyError("k"), debug=True) == "unexpected KeyError: 'k'"


def test_a_database_error_is_the_drivers_line_without_the_statement() -> None:
    from sqlalchemy.exc import DBAPIError

    orig = ConnectionError("connection was closed in the middle of operation")
    exc = DBAPIError("INSERT INTO patient VALUES ($1)", ["191212121212"], orig)
    assert cli.describe(exc) == "database error: connection was closed in the middle of operation"


def test_import_chunk_default_matches_the_job() -> None:
    from app.fhir import cli as fhir_cli
    from app.fhir import jobs

    assert fhir_cli.CHUNK == jobs.CHUNK


def test_token_purposes_are_the_principal_purposes() -> None:
    from app.privacy_cli import _purpose

    assert [_purpose(p.lower()) for p in Purpose] == [p.value for p in Purpose]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:p@db.example:5432/vardkedja",
        "postgres://u@[::1]:5432/vardkedja",
        "postgresql://u@[2001:db8::7]/vardkedja",
        "postgresql://u@h1:5432,h2:5433/vardkedja",
        "postgresql://postgres:@/vardkedja?host=/tmp/pgdata",
        "postgresql+asyncpg://u@db/vardkedja",
    ],
)
def test_good_database_urls_pass(url: str) -> None:
    check_database_url(url)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql://u@db:99999/x", "1-65535"),
        ("postgresql://u@db:0/x", "1-65535"),
        ("postgresql://u@db:http/x", "bad host or port"),
        ("postgresql://u@::1:5432/x", "needs brackets"),
        ("postgresql://u@h1:5432,h2:70000/x", "'h2:70000'"),
        ("mysql://u@db/x", "postgresql://"),
        ("db.example:5432", "postgresql://"),
    ],
)
def test_bad_database_urls_are_refused(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        check_database_url(url)


def test_described_urls_keep_ipv6_brackets_and_drop_passwords() -> None:
    assert describe_url("postgresql://u:secret@[::1]:5432/db") == "postgresql://[::1]:5432/db"
    assert describe_url("postgresql://u:secret@db:99999/x") == "postgresql://db:99999/x"
    assert "secret" not in describe_url("postgresql://u:secret@[::1:5/x?sslmode=require")


def test_the_demo_population_has_the_seed_commands_ceiling() -> None:
    from pydantic import ValidationError

    from app.commands import MAX_SEED_PATIENTS
    from app.settings import Settings

    assert Settings(demo_patients=MAX_SEED_PATIENTS).demo_patients == MAX_SEED_PATIENTS
    for bad in (-1, MAX_SEED_PATIENTS + 1):
        with pytest.raises(ValidationError):
            Settings(demo_patients=bad)


def test_unkept_dev_keys_are_one_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from app.settings import Settings
    from app.tokens import with_dev_keys

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    external = Settings(data_dir=blocker / "d", database_url="postgresql://db.example/x")
    with caplog.at_level(logging.WARNING, logger="vardkedja.tokens"):
        assert with_dev_keys(external).audit_key is None
    [record] = caplog.records
    assert "no jwt_secret, audit_key, pseudonym_key" in record.getMessage()

    caplog.clear()
    embedded = Settings(data_dir=blocker / "d")  # its server fails on that folder: one error
    with caplog.at_level(logging.WARNING, logger="vardkedja.tokens"):
        assert with_dev_keys(embedded).audit_key is None
    assert not caplog.records


HELPS = ["", "serve", "seed", "token", "audit", "audit verify", "import-fhir", "export-fhir"]


@pytest.mark.parametrize("argv", [h.split() for h in [*HELPS, "migrate", "export-schema"]])
def test_every_help_prints(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        cli.main([*argv, "--help"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: vardkedja {' '.join(argv)}".rstrip())
