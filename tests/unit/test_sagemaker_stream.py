"""The incremental SSE/JSON-lines decoder, split at every byte position."""

from __future__ import annotations

import json

import pytest

from relay.translate.sagemaker.stream import StreamDecoder

pytestmark = pytest.mark.unit

EVENTS = [{"text": "naïve"}, {"text": "café — ok"}, {"text": "🙂 end"}]
SSE = (
    b"".join(f"data: {json.dumps(e, ensure_ascii=False)}\n\n".encode() for e in EVENTS) + b"data: [DONE]\n\n"
)
EXPECTED = [json.dumps(e, ensure_ascii=False) for e in EVENTS] + ["[DONE]"]


def decode(chunks: list[bytes]) -> list[str]:
    decoder = StreamDecoder()
    out = [payload for chunk in chunks for payload in decoder.feed(chunk)]
    return out + decoder.finish()


@pytest.mark.parametrize("cut", range(1, len(SSE)))
def test_every_single_split_point(cut: int) -> None:
    assert decode([SSE[:cut], SSE[cut:]]) == EXPECTED


def test_every_pair_of_split_points() -> None:
    for first in range(1, len(SSE) - 1, 3):
        for second in range(first + 1, len(SSE)):
            assert decode([SSE[:first], SSE[first:second], SSE[second:]]) == EXPECTED


def test_one_byte_at_a_time_and_all_at_once() -> None:
    assert decode([SSE[i : i + 1] for i in range(len(SSE))]) == EXPECTED
    assert decode([SSE]) == EXPECTED


def test_crlf_comments_multiline_data_and_json_lines() -> None:
    raw = b': keep-alive\r\nevent: message\r\ndata: {"a":\r\ndata: 1}\r\n\r\n{"token": 2}\n'
    assert decode([raw[:7], raw[7:]]) == ['{"a":\n1}', '{"token": 2}']


def test_unterminated_last_event_is_flushed() -> None:
    assert decode([b'data: {"x": 1}']) == ['{"x": 1}']
