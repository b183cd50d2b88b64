"""Failures below the API are mapped at the backend edge, naming the model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from urllib3.exceptions import ProtocolError

from relay.backends.sagemaker.runtime import PartStream
from relay.errors import UpstreamError

pytestmark = pytest.mark.unit


class _CutStream:
    def __iter__(self) -> Iterator[dict[str, object]]:
        yield {"PayloadPart": {"Bytes": b'data: {"a": 1}\n\n'}}
        raise ProtocolError("Connection broken: IncompleteRead(0 bytes read)")

    def close(self) -> None:
        pass


def test_sagemaker_stream_cut_midway_is_an_upstream_error_naming_the_model() -> None:
    parts = iter(PartStream(_CutStream(), "emu-chat/test"))
    assert next(parts).startswith(b"data:")
    with pytest.raises(UpstreamError) as caught:
        next(parts)
    assert caught.value.code == "upstream_error"
    assert "emu-chat/test" in caught.value.message
