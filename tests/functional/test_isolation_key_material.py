"""Key material: no key or secret part in any log line, on any path; the admin key rotates.

Every log record of a full round of requests (admin and created keys, successes and errors,
revocation, rotation) is captured, with its extra fields and whatever reached stdout/stderr.
The admin key rotation runs last: the session's other tests keep the fixture's admin key.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

pytestmark = pytest.mark.functional


class Everything(logging.Handler):
    """Each record as text: message, arguments, extra fields, exception and stack."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.stream = io.StringIO()  # the Powertools handler's output (the request lines go there)

    def emit(self, record: logging.LogRecord) -> None:
        fields = {k: repr(v) for k, v in record.__dict__.items() if k not in ("msg", "args")}
        text = f"{record.getMessage()} {json.dumps(fields)}"
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(text)


@pytest.fixture()
def captured() -> Iterator[Everything]:
    from relay.observability import logger

    handler = Everything()
    loggers = [logging.getLogger(), logging.getLogger("relay"), logging.getLogger("botocore")]
    levels = [lg.level for lg in loggers]
    powertools = logger.registered_handler
    assert isinstance(powertools, logging.StreamHandler)
    before = powertools.setStream(handler.stream)
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        powertools.setStream(before)
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_no_key_or_secret_reaches_a_log_line_and_the_admin_key_rotates(
    client: Any, admin_key: str, services: Any, captured: Everything, capfd: Any
) -> None:
    admin = _bearer(admin_key)
    created = client.post("/v1/keys", json={"name": "logged"}, headers=admin)
    assert created.status_code == 201
    plaintext, key_id = created.json()["key"], created.json()["id"]
    secret = plaintext[len(f"sk-relay-{key_id}-") :]
    member = _bearer(plaintext)
    wrong_secret = _bearer(f"sk-relay-{key_id}-{secret[::-1]}")

    project = client.post("/v1/projects", json={"name": "logs"}, headers=member).json()["id"]
    calls: list[tuple[str, str, dict[str, str], dict[str, Any]]] = [
        ("GET", "/v1/projects", member, {}),
        ("GET", f"/v1/projects/{project}", {"X-API-Key": plaintext}, {}),
        ("GET", "/v1/projects", wrong_secret, {}),
        ("GET", "/v1/projects", _bearer(admin_key + "x"), {}),
        ("GET", "/v1/projects", {"X-API-Key": admin_key[:-1]}, {}),
        ("GET", "/v1/keys", member, {}),  # 403: not the admin
        (
            "POST",
            "/v1/projects",
            member,
            {"content": b"{broken", "headers": {"Content-Type": "application/json"}},
        ),
        ("POST", "/v1/chat/completions", member, {"json": {"model": "no-such-model", "messages": []}}),
        ("POST", "/v1/chat/completions", _bearer(plaintext + " trailing"), {"json": {}}),
        ("POST", f"/v1/projects/{project}/datasets", member, {"files": {"file": ("d.jsonl", b"{bad\n")}}),
        ("GET", f"/v1/projects/{project}/datasets/ds-0123456789abcdef", member, {}),
        ("GET", "/v1/keys", admin, {}),
        ("GET", "/v1/models", member, {}),
    ]
    for method, path, headers, kwargs in calls:
        extra_headers = kwargs.pop("headers", {})
        response = client.request(method, path, headers={**headers, **extra_headers}, **kwargs)
        assert response.status_code < 500, (path, response.text)
    assert client.delete(f"/v1/keys/{key_id}", headers=admin).status_code == 204
    assert client.get("/v1/projects", headers=member).status_code == 401  # revoked

    rotated = client.post("/v1/keys/admin/rotate", headers=admin)
    assert rotated.status_code == 200, rotated.text
    new_admin = rotated.json()["key"]
    assert new_admin != admin_key and len(new_admin) >= 40
    stored = boto3.client("secretsmanager").get_secret_value(SecretId=services.settings.admin_secret_id)
    assert stored["SecretString"] == new_admin
    assert client.get("/v1/keys", headers=_bearer(new_admin)).status_code == 200
    assert client.get("/v1/keys", headers=admin).status_code == 401  # the old admin key is revoked here

    out, err = capfd.readouterr()
    text = "\n".join([*captured.lines, captured.stream.getvalue(), out, err])
    assert '"message":"request"' in text  # the request lines (access log and metrics) were captured
    for material in (admin_key, new_admin, plaintext, secret):
        assert material not in text


@pytest.fixture(autouse=True)
def _restore_admin_key(services: Any, admin_key: str) -> Iterator[None]:
    """Put the session's admin key back for the tests that run after this one."""
    yield
    boto3.client("secretsmanager").put_secret_value(
        SecretId=services.settings.admin_secret_id, SecretString=admin_key
    )
    services.authenticator.forget("admin")
