"""Settings: invalid environments give one readable line; the policy cannot be switched off
through the environment."""

from __future__ import annotations

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


def test_invalid_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VARDKEDJA_PORT", "eighty")
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError) as raised:
            get_settings()
    finally:
        get_settings.cache_clear()
    message = str(raised.value)
    assert message.startswith("invalid configuration: VARDKEDJA_PORT:")
    assert "\n" not in message
