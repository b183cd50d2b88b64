"""Settings: required names are required; flags and numbers are parsed strictly."""

from __future__ import annotations

import pytest

from relay.settings import Settings, SettingsError

pytestmark = pytest.mark.unit

BASE = {"RELAY_TABLE_NAME": "t", "RELAY_BUCKET_NAME": "b", "RELAY_ADMIN_SECRET_ID": "s"}


def test_reads_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        **BASE,
        "RELAY_MODELS_REQUIRE_KEY": "false",
        "RELAY_ALLOWED_MODELS": "us.*, amazon.*",
    }.items():
        monkeypatch.setenv(key, value)
    settings = Settings.from_env()
    assert settings.table_name == "t"
    assert settings.models_require_key is False
    assert settings.allowed_models == ("us.*", "amazon.*")


@pytest.mark.parametrize("missing", sorted(BASE))
def test_missing_names_fail_loudly(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    for key, value in BASE.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv(missing)
    with pytest.raises(SettingsError, match=missing):
        Settings.from_env()


def test_bad_flag_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {**BASE, "RELAY_MODELS_REQUIRE_KEY": "maybe"}.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError):
        Settings.from_env()
