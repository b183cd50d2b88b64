"""Dataset validation, the line splitter, and the base-model catalogue checks."""

from __future__ import annotations

import hashlib
import json

import pytest

from relay.catalogue import catalogue, catalogue_models, validate_training_parameters
from relay.catalogue.base_models import parse_catalogue
from relay.errors import BadRequestError
from relay.services.datasets.lines import TOO_LONG, HashingLines
from relay.services.datasets.validation import MAX_REPORTED, validate_dataset

pytestmark = pytest.mark.unit

CHAT = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}


def jsonl(*rows: object) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("chunk", [1, 3, 64, 10_000])
def test_lines_survive_any_chunking_and_hash_the_whole_input(chunk: int) -> None:
    data = b"one\r\ntwo\n\nthree"
    lines = HashingLines(split(data, chunk))
    assert list(lines) == [(1, b"one\r"), (2, b"two"), (3, b""), (4, b"three")]
    assert lines.size == len(data)
    assert lines.sha256 == hashlib.sha256(data).hexdigest()


def test_overlong_line_is_reported_without_being_kept() -> None:
    lines = HashingLines([b"a" * 50, b"b" * 50 + b"\nok\n"], max_line_bytes=80)
    assert list(lines) == [(1, TOO_LONG), (2, b"ok")]


@pytest.mark.parametrize(
    ("data", "filename", "fmt", "rows"),
    [
        (jsonl(CHAT, CHAT), "chat.jsonl", "chat", 2),
        (jsonl({"prompt": "2+2?", "completion": "4"}), "pc.jsonl", "prompt_completion", 1),
        (
            jsonl({"text": "great", "label": "pos"}, {"text": "bad", "label": 0}),
            "c.jsonl",
            "classification",
            2,
        ),
        (jsonl({"text": "a", "text_pair": "b", "score": 0.25}), "r.jsonl", "regression", 1),
        (b'text,label\ngood,pos\n"multi\nline, quoted",neg\n', "c.csv", "classification", 2),
        (b"\xef\xbb\xbfText,Score\r\nfine,1.5\r\n", "r.csv", "regression", 1),
        (b"text,label\nx,y\n", "no-extension", "classification", 1),
        (jsonl(CHAT), "no-extension", "chat", 1),
        (
            jsonl(
                {"anchor": "cat", "positive": "kitten"},
                {"anchor": "dog", "positive": "puppy", "negative": "car"},
            ),
            "pairs.jsonl",
            "pairs",
            2,
        ),
    ],
)
def test_valid_formats_are_recognised(data: bytes, filename: str, fmt: str, rows: int) -> None:
    report = validate_dataset(split(data, 5), filename)
    assert report.ok, report.summary()
    assert (report.format, report.rows) == (fmt, rows)
    assert report.sha256 == hashlib.sha256(data).hexdigest()


def test_problems_name_their_lines() -> None:
    data = (
        jsonl(CHAT)
        + b"{not json\n"
        + jsonl([1, 2])
        + jsonl({"prompt": "a", "completion": "b"})
        + jsonl({"messages": [{"role": "user", "content": "only a question"}]})
        + b"\xff\xfe\n"
        + jsonl({"foo": 1})
    )
    report = validate_dataset([data], "d.jsonl")
    assert not report.ok
    assert [p.line for p in report.problems] == [2, 3, 4, 5, 6, 7]
    text = report.summary()
    assert "line 2: not valid JSON" in text
    assert "line 3: expected a JSON object" in text
    assert "line 4: a prompt_completion row, but line 1 made this a chat dataset" in text
    assert "line 5: 'messages' needs at least one user and one assistant message" in text
    assert "line 6: not UTF-8 text (byte 0xff at column 1)" in text
    assert "line 7: unrecognised row" in text


def test_only_the_first_twenty_problems_are_listed_but_all_are_counted() -> None:
    data = jsonl(CHAT) + b"oops\n" * 45
    report = validate_dataset([data], "d.jsonl")
    assert report.problem_lines == 45
    assert len(report.problems) == MAX_REPORTED
    assert report.problems[-1].line == MAX_REPORTED + 1
    assert "and 25 more lines with problems" in report.summary()


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"", "empty"),
        (b"\n\n  \n", "empty"),
        (b"name,value\na,b\n", "line 1: the CSV header must name a 'text' column"),
        (b"text,label\nhello\n", "line 2: expected 2 columns"),
        (b"text,score\nhello,high\n", "line 2: 'score' must be a finite number"),
        (b"text,label\n,pos\n", "line 2: 'text' must be a non-empty string"),
        (bytes(range(256)) * 8, "line 1"),
    ],
)
def test_invalid_files_are_refused(data: bytes, needle: str) -> None:
    report = validate_dataset([data], "upload.bin")
    assert not report.ok
    assert needle in report.summary()


def test_catalogue_ships_a_local_model_and_gpu_models() -> None:
    models = catalogue()
    assert models["tiny-local"].default_instance_type == "ml.m5.xlarge"
    assert models["Llama-3.2-1B-Instruct"].default_instance_type.startswith("ml.g5")
    assert any(m.default_instance_type.startswith("ml.p4d") for m in models.values())
    assert "{region}" not in models["Qwen2.5-7B-Instruct"].image_for("eu-west-1")
    items = {m.id: m for m in catalogue_models()}
    assert items["tiny-local"].parameter_template["num_train_epochs"] == 1
    assert items["ModernBERT-base"].type == "classification"


def test_training_parameters_get_defaults_and_bounds() -> None:
    params = validate_training_parameters(
        "tiny-local", parameters={"learning_rate": 0.001, "num_train_epochs": 2.0}
    )
    assert params["learning_rate"] == 0.001
    assert params["num_train_epochs"] == 2 and isinstance(params["num_train_epochs"], int)
    assert params["per_device_train_batch_size"] == 2
    assert "num_generations" not in params  # a GRPO knob


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"parameters": {"learning_rate": 1.0}}, "parameters.learning_rate"),
        ({"parameters": {"num_train_epochs": 0}}, "parameters.num_train_epochs"),
        ({"parameters": {"num_train_epochs": 1.5}}, "parameters.num_train_epochs"),
        ({"parameters": {"learning_rate": "fast"}}, "parameters.learning_rate"),
        ({"parameters": {"dynamic_loss": 1}}, "parameters.dynamic_loss"),
        ({"parameters": {"warp_speed": 9}}, "parameters.warp_speed"),
        ({"technique": "SFT", "parameters": {"num_generations": 4}}, "parameters.num_generations"),
        ({"task_type": "embedding"}, "task_type"),
    ],
)
def test_training_parameters_are_refused_outside_the_catalogue(kwargs: dict[str, object], param: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        validate_training_parameters("Llama-3.2-1B-Instruct", **kwargs)  # type: ignore[arg-type]
    assert caught.value.param == param


def test_unknown_base_model_and_unsupported_technique() -> None:
    with pytest.raises(BadRequestError, match="GET /v1/models"):
        validate_training_parameters("gpt-17")
    with pytest.raises(BadRequestError) as caught:
        validate_training_parameters("ModernBERT-base", task_type="classification", technique="GRPO")
    assert caught.value.param == "training_technique"


def test_malformed_catalogue_is_refused() -> None:
    entry = {
        "name": "x",
        "type": "chat",
        "hf_model_id": "x/x",
        "task_types": ["text-generation"],
        "training_techniques": ["SFT"],
        "default_instance_type": "ml.g5.xlarge",
        "instance_types": ["ml.g6.xlarge"],
        "image": "gpu",
        "parameter_set": "p",
        "support_serverless": False,
        "created": 0,
    }
    document = {"parameter_sets": {"p": {}}, "images": {"gpu": "img"}, "models": [entry]}
    with pytest.raises(ValueError, match="default instance type"):
        parse_catalogue(document)
