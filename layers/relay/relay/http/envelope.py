"""Which error envelope a path gets (control plane, Anthropic, OpenAI), and the response builders."""

from __future__ import annotations

from starlette.responses import JSONResponse

from relay.errors import RelayError

# Control-plane routes answer the spec's `{"status","error","code"}`; everything else
# (inference and /v1/models) answers OpenAI's `{"error": {...}}`.
CONTROL_PREFIXES = ("/v1/projects", "/v1/engines", "/v1/testing-functions", "/v1/keys", "/v1/admin")


# Anthropic's Messages API answers `{"type": "error", "error": {"type", "message"}}`.
ANTHROPIC_PREFIX = "/v1/messages"
# Relay's status -> Anthropic's error type. A 503 (Bedrock unavailable, a deployment
# scaling up) is Anthropic's 529 overloaded_error, the status its SDKs back off on.
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
}
_ANTHROPIC_STATUS = {503: 529}


def is_control_path(path: str) -> bool:
    return path.startswith(CONTROL_PREFIXES)


def is_anthropic_path(path: str) -> bool:
    return path == ANTHROPIC_PREFIX or path.startswith(ANTHROPIC_PREFIX + "/")


def anthropic_error_body(error: RelayError) -> dict[str, object]:
    kind = _ANTHROPIC_TYPES.get(error.status, "invalid_request_error" if error.status < 500 else "api_error")
    return {"type": "error", "error": {"type": kind, "message": error.message}}


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
    elif is_anthropic_path(path):
        body = anthropic_error_body(error)
        status = _ANTHROPIC_STATUS.get(error.status, error.status)
        return JSONResponse(body, status_code=status, headers=error.headers)
    else:
        body = openai_error_body(error)
    return JSONResponse(body, status_code=error.status, headers=error.headers)
