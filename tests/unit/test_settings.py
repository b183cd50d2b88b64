"""Settings: required names are required; flags and numbers are parsed strictly."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from local.template import TEMPLATE_PATH, load_template
from relay.settings import (
    DATASET_INLINE_MAX_BYTES,
    DEFAULT_MAX_AUDIO_BYTES,
    DEFAULT_MAX_BODY_BYTES,
    ENV_MAX_AUDIO_BYTES,
    ENV_MAX_BODY_BYTES,
    LAMBDA_INVOKE_PAYLOAD_BYTES,
    MULTIPART_BODY_MAX_BYTES,
    Settings,
    SettingsError,
)

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


def test_request_limits_come_from_one_payload_budget() -> None:
    assert LAMBDA_INVOKE_PAYLOAD_BYTES == 6_291_456
    assert DEFAULT_MAX_BODY_BYTES == 6_225_920
    assert MULTIPART_BODY_MAX_BYTES == 4_669_440
    assert DATASET_INLINE_MAX_BYTES == 4_653_056
    assert DEFAULT_MAX_AUDIO_BYTES == 4_665_344
    # The largest multipart body, base64-encoded as API Gateway hands it over, fills exactly the
    # room left beside the event envelope: no more, or Lambda refuses the invocation.
    assert len(base64.b64encode(b"\0" * MULTIPART_BODY_MAX_BYTES)) == DEFAULT_MAX_BODY_BYTES


def test_template_and_readme_quote_the_code_defaults() -> None:
    env = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert env[ENV_MAX_BODY_BYTES] == str(DEFAULT_MAX_BODY_BYTES)
    assert env[ENV_MAX_AUDIO_BYTES] == str(DEFAULT_MAX_AUDIO_BYTES)
    readme = (Path(TEMPLATE_PATH).parent / "README.md").read_text(encoding="utf-8")
    assert f"| {DEFAULT_MAX_BODY_BYTES:,} bytes (`{ENV_MAX_BODY_BYTES}`)" in readme
    assert f"| {DEFAULT_MAX_AUDIO_BYTES:,} bytes (`{ENV_MAX_AUDIO_BYTES}`)" in readme
    assert f"| Dataset upload through the API | {DATASET_INLINE_MAX_BYTES:,} bytes |" in readme


def test_defaults_apply_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in BASE.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv(ENV_MAX_AUDIO_BYTES, raising=False)
    monkeypatch.delenv(ENV_MAX_BODY_BYTES, raising=False)
    settings = Settings.from_env()
    assert settings.max_body_bytes == DEFAULT_MAX_BODY_BYTES
    assert settings.max_audio_bytes == DEFAULT_MAX_AUDIO_BYTES
    assert settings.dataset_inline_max_bytes == DATASET_INLINE_MAX_BYTES
    assert settings.dataset_multipart_body_max_bytes == MULTIPART_BODY_MAX_BYTES
