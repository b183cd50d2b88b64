"""A stored response: what `GET /v1/responses/{id}` returns and what a continuation needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# OpenAI keeps stored responses for 30 days; the table's TTL attribute removes them after.
RETENTION_SECONDS = 30 * 24 * 3600
RESPONSE_PREFIX = "resp_"


@dataclass(frozen=True)
class StoredResponse:
    """`response` is the Response object as sent; `conversation` the items the model saw
    before this turn's input (the chain of earlier turns), `input_items` this turn's input,
    `output` the response's output with every reasoning item's carrier (what continues it)."""

    id: str
    owner: str  # the key id that created it: only that key reads or deletes it
    created_at: int
    expires_at: int
    response: dict[str, Any]
    input_items: list[dict[str, Any]] = field(default_factory=list)
    conversation: list[dict[str, Any]] = field(default_factory=list)
    output: list[dict[str, Any]] = field(default_factory=list)

    def history(self) -> list[dict[str, Any]]:
        """The items a continuation (`previous_response_id`) starts from: all before, this input, its output."""
        return [*self.conversation, *self.input_items, *(self.output or self.response.get("output", []))]
