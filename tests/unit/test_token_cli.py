"""`vardkedja token`: development tokens for every demo role, verified by the same secret
that `serve` uses without any configuration."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest

from app.cli import UsageError, build_parser
from app.privacy_cli import token_command
from app.seed.demo import (
    DEMO_CLINICIANS,
    DEMO_PATIENTS,
    DEMO_RESEARCH_CLIENT_ID,
    DEMO_STUDY_ID,
)
from app.settings import Settings
from app.tokens import with_dev_keys
from schema.ids import encode_id


def run_token(capsys: pytest.CaptureFixture[str], settings: Settings, *argv: str) -> str:
    args = build_parser().parse_args(["token", *argv])
    assert token_command(args, settings) == 0
    return capsys.readouterr().out.strip()


def decode(token: str, settings: Settings) -> dict[str, object]:
    secret = with_dev_keys(settings).jwt_secret
    assert secret
    return jwt.decode(token, secret, algorithms=["HS256"], audience="vardkedja")


def test_dev_secret_is_generated_once_and_shared(tmp_path: Path) -> None:
    first = with_dev_keys(Settings(data_dir=tmp_path))
    second = with_dev_keys(Settings(data_dir=tmp_path))
    assert first.jwt_secret and first.jwt_secret == second.jwt_secret
    assert first.audit_key and first.audit_key == second.audit_key
    assert (tmp_path / "dev-jwt-secret").stat().st_mode & 0o077 == 0


def test_no_dev_jwt_secret_when_jwks_is_configured(tmp_path: Path) -> None:
    settings = with_dev_keys(Settings(data_dir=tmp_path, jwks_url="https://idp.example/jwks"))
    assert settings.jwt_secret is None
    assert not (tmp_path / "dev-jwt-secret").exists()


def test_clinician_token_fits_the_demo_er_doctor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(data_dir=tmp_path)
    claims = decode(run_token(capsys, settings, "--as", "clinician"), settings)
    doctor = DEMO_CLINICIANS["er_doctor"]
    assert claims["kind"] == "clinician"
    assert claims["sub"] == doctor.hsa_id
    assert claims["care_unit"] == doctor.unit_hsa_id
    assert claims["care_provider"] == doctor.provider_hsa_id


def test_every_role_mints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(data_dir=tmp_path)
    patient = decode(
        run_token(capsys, settings, "--as", "patient", "--who", "outer_block"), settings
    )
    assert patient["pnr"] == DEMO_PATIENTS["outer_block"].personnummer
    guardian = decode(run_token(capsys, settings, "--as", "guardian"), settings)
    assert guardian["kind"] == "proxy"
    assert guardian["pnr"] == DEMO_PATIENTS["guardian"].personnummer
    assert guardian["represents"] == DEMO_PATIENTS["child"].personnummer
    research = decode(run_token(capsys, settings, "--as", "research"), settings)
    assert research["client_id"] == DEMO_RESEARCH_CLIENT_ID
    assert research["study"] == encode_id("ResearchStudy", DEMO_STUDY_ID)
    other = decode(
        run_token(capsys, settings, "--as", "research", "--client-id", "ki", "--study", "S1"),
        settings,
    )
    assert (other["client_id"], other["study"]) == ("ki", "S1")
    system = decode(run_token(capsys, settings, "--as", "system", "--purpose", "admin"), settings)
    assert system["kind"] == "system" and system["purpose"] == "ADMIN"
    by_hsa = decode(
        run_token(capsys, settings, "--as", "clinician", "--hsa-id", "SE2321000016-DR02"), settings
    )
    assert by_hsa["care_unit"] == DEMO_CLINICIANS["psych_doctor"].unit_hsa_id


def test_personnummer_in_display_form(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(data_dir=tmp_path)
    claims = decode(
        run_token(capsys, settings, "--as", "patient", "--personnummer", "19121212-1212"), settings
    )
    assert claims["pnr"] == "191212121212"


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(data_dir=tmp_path)
    for argv in (
        ("--as", "patient", "--who", "nobody"),
        ("--as", "patient", "--who", "er_doctor"),
        ("--as", "clinician", "--hsa-id", "SE0000000000-XX"),
        ("--as", "patient", "--personnummer", "191212121213"),
    ):
        with pytest.raises(UsageError):
            run_token(capsys, settings, *argv)


def test_every_command_gets_the_same_dev_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.settings import get_settings

    monkeypatch.setenv("VARDKEDJA_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        settings = get_settings()
    finally:
        get_settings.cache_clear()
    assert settings.audit_key == (tmp_path / "dev-audit-key").read_text().strip()
    assert settings.jwt_secret == with_dev_keys(Settings(data_dir=tmp_path)).jwt_secret


def test_unwritable_data_dir_leaves_keys_unset(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    settings = with_dev_keys(Settings(data_dir=blocker / "data"))
    assert settings.audit_key is None and settings.jwt_secret is None
