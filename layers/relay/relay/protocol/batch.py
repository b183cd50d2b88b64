"""The one request format of every non-HTTP entry point: an OpenAI batch input line, and its output line.

Input: `{"custom_id", "method": "POST", "url", "body"}`. Output: `{"id", "custom_id",
"response": {"status_code", "request_id", "body"} | null, "error": {"code", "message"} | null}`,
as OpenAI's Batch API writes them. A 4xx answer is a `response` carrying the OpenAI error body;
`error` is for a line that could not be run at all (malformed, or failing past the retry budget).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from relay.protocol.base import WireModel

# The routes a line may name, in OpenAI's spelling.
CHAT_URL = "/v1/chat/completions"
COMPLETIONS_URL = "/v1/completions"
EMBEDDINGS_URL = "/v1/embeddings"
RERANK_URL = "/v1/rerank"
CLASSIFICATION_URL = "/v1/classification"
RESPONSES_URL = "/v1/responses"
# Every url a line may name (the dispatcher serves exactly these), and so every batch endpoint.
BATCH_URLS = (CHAT_URL, COMPLETIONS_URL, EMBEDDINGS_URL, RERANK_URL, CLASSIFICATION_URL, RESPONSES_URL)


class BatchRequestLine(WireModel):
    # Unknown keys are refused: a misspelt `custom_id` must not run a line nobody can match.
    model_config = ConfigDict(extra="forbid")

    custom_id: str = Field(min_length=1, max_length=512)
    method: Literal["POST"]
    url: str
    body: dict[str, Any]


class BatchResponse(WireModel):
    status_code: int
    request_id: str
    body: dict[str, Any]


class BatchLineError(WireModel):
    code: str
    message: str


class BatchResponseLine(WireModel):
    id: str
    custom_id: str | None
    response: BatchResponse | None = None
    error: BatchLineError | None = None

    @property
    def succeeded(self) -> bool:
        """What OpenAI counts as completed: a 2xx answer (anything else goes to the error file)."""
        return self.response is not None and 200 <= self.response.status_code < 300


def openai_error_body(message: str, type_: str, param: str | None, code: str | None) -> dict[str, Any]:
    """OpenAI's error envelope, as the HTTP routes answer it (relay.http.envelope)."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}
