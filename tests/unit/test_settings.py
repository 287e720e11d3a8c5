"""Settings: invalid environments give one readable line; the policy cannot be switched off
through the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings, SettingsError, get_settings


def test_policy_cannot_be_switched_off_by_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VARDKEDJA_ACCESS_POLICY", "false")
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError, match="VARDKEDJA_ACCESS_POLICY"):
            get_settings()
    finally:
        get_settings.cache_clear()


def test_the_environment_may_keep_the_policy_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VARDKEDJA_ACCESS_POLICY", "true")
    assert Settings().access_policy is True


def test_code_may_switch_the_policy_off_for_benchmarks() -> None:
    assert Settings(access_policy=False).access_policy is False
    assert Settings().access_policy is True


def refusal() -> str:
    """The one-line message with which the environment's settings are refused."""
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError) as raised:
            get_settings()
    finally:
        get_settings.cache_clear()
    return str(raised.value)


def test_invalid_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VARDKEDJA_PORT", "eighty")
    message = refusal()
    assert message.startswith("invalid configuration: VARDKEDJA_PORT:")
    assert "\n" not in message


def test_secrets_come_from_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "audit").write_text("audit-from-file\n")
    (tmp_path / "url").write_text("postgresql://vardkedja:s3cret@db:5432/vardkedja")
    monkeypatch.setenv("VARDKEDJA_AUDIT_KEY_FILE", str(tmp_path / "audit"))
    monkeypatch.setenv("VARDKEDJA_DATABASE_URL_FILE", str(tmp_path / "url"))
    settings = Settings()
    assert settings.audit_key == "audit-from-file"  # the final newline is not part of the key
    assert settings.database_url == "postgresql://vardkedja:s3cret@db:5432/vardkedja"
    assert settings.pseudonym_key is None


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        (
            {"VARDKEDJA_AUDIT_KEY": "k", "VARDKEDJA_AUDIT_KEY_FILE": "{dir}/key"},
            "set VARDKEDJA_AUDIT_KEY or VARDKEDJA_AUDIT_KEY_FILE, not both",
        ),
        (
            {"VARDKEDJA_PSEUDONYM_KEY_FILE": "{dir}/missing"},
            "VARDKEDJA_PSEUDONYM_KEY_FILE: cannot read {dir}/missing: No such file or directory",
        ),
        ({"VARDKEDJA_JWT_SECRET_FILE": "{dir}/empty"}, "VARDKEDJA_JWT_SECRET_FILE: {dir}/empty"),
        ({"VARDKEDJA_DATABASE_URL_FILE": "{dir}/key"}, "VARDKEDJA_DATABASE_URL: must start"),
    ],
    ids=["both", "missing file", "empty file", "file's url checked"],
)
def test_a_bad_secret_file_is_one_line(
    environment: dict[str, str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "key").write_text("k")
    (tmp_path / "empty").write_text("\n")
    for name, value in environment.items():
        monkeypatch.setenv(name, value.format(dir=tmp_path))
    message_given = refusal()
    assert message.format(dir=tmp_path) in message_given
    assert "\n" not in message_given
