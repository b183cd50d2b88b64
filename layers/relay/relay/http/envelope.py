"""Which error envelope a path gets, and the two response builders."""

from __future__ import annotations

from starlette.responses import JSONResponse

from relay.errors import RelayError

# Control-plane routes answer the spec's `{"status","error","code"}`; everything else
# (inference and /v1/models) answers OpenAI's `{"error": {...}}`.
CONTROL_PREFIXES = ("/v1/projects", "/v1/engines", "/v1/testing-functions", "/v1/keys", "/v1/admin")


def is_control_path(path: str) -> bool:
    return path.startswith(CONTROL_PREFIXES)


def openai_error_body(error: RelayError) -> dict[str, object]:
    return {
        "error": {
            "message": error.message,
            "type": error.type,
            "param": error.param,
            "code": error.code,
        }
    }


def error_response(path: str, error: RelayError) -> JSONResponse:
    if is_control_path(path):
        body: dict[str, object] = {"status": error.status, "error": error.message, "code": error.code}
    else:
        body = openai_error_body(error)
    return JSONResponse(body, status_code=error.status, headers=error.headers)
