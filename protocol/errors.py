"""The two error envelopes: OpenAI's for inference routes, the control plane's for control routes."""

from __future__ import annotations

from pydantic import BaseModel


class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    """OpenAI's envelope; the openai SDK reads `body["error"]`."""

    error: ErrorBody


class ControlErrorResponse(BaseModel):
    """The control-plane API spec's envelope."""

    status: int
    error: str
    code: str | None = None
