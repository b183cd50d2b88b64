"""Hyperparameters, dataset files, metric lines and failure reporting (no model involved)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from training_support import Job

from relay_training.config import ConfigError, Paths, load_hyperparameters, parse_config
from relay_training.data import (
    DataError,
    grpo_examples,
    label_names,
    labelled_examples,
    pair_examples,
    read_records,
    sft_examples,
)
from relay_training.metrics import MetricSink, format_metric_line, parse_metric_line, progress_percent
from relay_training.rewards import completion_text, reward_functions, weighted_reward

pytestmark = pytest.mark.training


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    (tmp_path / "base").mkdir()
    return Paths.from_env(
        {"SM_CHANNEL_TRAIN": str(tmp_path / "train"), "SM_CHANNEL_MODEL": str(tmp_path / "base")}
    )


def test_hyperparameters_arrive_as_strings_and_are_decoded(tmp_path: Path, paths: Paths) -> None:
    file = tmp_path / "hyperparameters.json"
    file.write_text(
        json.dumps(
            {
                "learning_rate": "0.001",
                "num_train_epochs": "2",
                "per_device_train_batch_size": "8",
                "use_lora": "false",
                "reward": '{"exact_match": 0.2, "token_f1": 0.8}',
                "base_model": "Llama-3.2-1B-Instruct",
                "train_dataset_id": "ds-12345",
            }
        )
    )
    config = parse_config(load_hyperparameters(file), paths)
    assert config.learning_rate == 0.001
    assert config.num_train_epochs == 2.0
    assert config.per_device_train_batch_size == 8
    assert config.use_lora is False
    assert config.technique == "GRPO"  # a reward map implies GRPO
    assert config.reward == {"exact_match": 0.2, "token_f1": 0.8}
    assert config.base_model == "Llama-3.2-1B-Instruct"
    assert config.base_model_path == paths.model_channel
    assert config.ignored == ("train_dataset_id",)


def test_defaults_and_aliases(paths: Paths) -> None:
    sft = parse_config({"epochs": 5, "batch_size": 3, "max_seq_length": 64}, paths)
    assert (sft.task_type, sft.technique, sft.use_lora) == ("text-generation", "SFT", True)
    assert (sft.num_train_epochs, sft.per_device_train_batch_size, sft.max_length) == (5.0, 3, 64)
    assert sft.learning_rate == 2e-4
    classifier = parse_config({"task_type": "classification"}, paths)
    assert classifier.use_lora is False and classifier.learning_rate == 2e-5


@pytest.mark.parametrize(
    ("hyperparameters", "message"),
    [
        ({"task_type": "translation"}, "task_type"),
        ({"training_technique": "GRPO"}, "'reward' is required"),
        ({"reward": {"no_such_function": 1}}, "unknown testing functions"),
        ({"reward": {"exact_match": 1}, "task_type": "classification"}, "GRPO trains text-generation"),
        ({"learning_rate": "-1"}, "learning_rate"),
        ({"use_lora": "perhaps"}, "use_lora"),
        ({"per_device_train_batch_size": "two"}, "per_device_train_batch_size"),
        ({"model_name_or_path": "meta-llama/Llama-3.2-1B"}, "local directory"),
    ],
)
def test_unusable_hyperparameters_are_named(paths: Paths, hyperparameters: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(hyperparameters, paths)


def test_records_carry_file_and_line_for_errors(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"prompt": "p", "completion": "c"}\n\n{"prompt": \n')
    with pytest.raises(DataError, match=r"a\.jsonl:3: not valid JSON"):
        read_records(tmp_path)
    (tmp_path / "a.jsonl").write_text('{"prompt": "p", "completion": "c"}\n[1, 2]\n')
    with pytest.raises(DataError, match=r"a\.jsonl:2: each row must be a JSON object"):
        read_records(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        read_records(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no \.jsonl, \.json, \.csv files"):
        read_records(tmp_path / "empty")


def test_csv_and_json_array_files_are_read(tmp_path: Path) -> None:
    (tmp_path / "1.csv").write_text('text,label\nhello world,greeting\n"a, b",list\n', encoding="utf-8")
    (tmp_path / "2.json").write_text(json.dumps([{"text": "x", "label": 3}]), encoding="utf-8")
    records = read_records(tmp_path)
    assert [record.source for record in records] == ["1.csv:2", "1.csv:3", "2.json[0]"]
    assert labelled_examples(records, regression=False) == [
        ("hello world", "greeting"),
        ("a, b", "list"),
        ("x", "3"),
    ]
    with pytest.raises(DataError, match=r"1\.csv:2: regression label 'greeting' is not a number"):
        labelled_examples(records, regression=True)


def test_sft_rows_become_prompt_completion_pairs(tmp_path: Path) -> None:
    rows = [
        {
            "messages": [
                {"role": "system", "content": "s"},
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": "a"},
            ]
        },
        {"prompt": "q2", "completion": "a2", "system": "be brief"},
    ]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    records = read_records(tmp_path)
    chat = sft_examples(records, chat=True)
    assert chat[0] == {
        "prompt": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}],
        "completion": [{"role": "assistant", "content": "a"}],
    }
    assert chat[1]["prompt"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "q2"}]
    assert sft_examples(records[1:], chat=False) == [{"prompt": "q2", "completion": "a2"}]
    with pytest.raises(DataError, match="chat template"):
        sft_examples(records, chat=False)
    (tmp_path / "d.jsonl").write_text(json.dumps({"messages": [{"role": "user", "content": "q"}]}) + "\n")
    with pytest.raises(DataError, match="must end with an assistant message"):
        sft_examples(read_records(tmp_path), chat=True)


def test_grpo_rows_keep_the_expected_output_and_plain_prompt(tmp_path: Path) -> None:
    rows = [{"prompt": "2+2?", "answer": 4}, {"prompt": "capital?", "expected_output": "Paris"}]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    examples = grpo_examples(read_records(tmp_path), chat=True)
    assert examples[0] == {
        "prompt": [{"role": "user", "content": "2+2?"}],
        "expected_output": "4",
        "input_text": "2+2?",
    }
    assert grpo_examples(read_records(tmp_path), chat=False)[1]["prompt"] == "capital?"


def test_pairs_include_negatives_only_when_every_row_has_one(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text(
        '{"anchor": "a", "positive": "b", "negative": "c"}\n{"anchor": "d", "positive": "e"}\n'
    )
    assert pair_examples(read_records(tmp_path)) == [
        {"anchor": "a", "positive": "b"},
        {"anchor": "d", "positive": "e"},
    ]


def test_label_order_is_stable() -> None:
    assert label_names(["10", "9", "2", "9"]) == ["2", "9", "10"]
    assert label_names(["pos", "neg", "neutral"]) == ["neg", "neutral", "pos"]


def test_metric_lines_round_trip_and_tolerate_log_noise(tmp_path: Path) -> None:
    line = format_metric_line({"step": 3, "epoch": 0.5, "loss": 1.23, "progress": 37.5})
    assert line.startswith("RELAY_METRIC {")
    assert parse_metric_line(line) == {"step": 3, "epoch": 0.5, "loss": 1.23, "progress": 37.5}
    assert parse_metric_line(" 45%|####  | 3/8\r" + line + "\n") == {
        "step": 3,
        "epoch": 0.5,
        "loss": 1.23,
        "progress": 37.5,
    }
    assert (
        parse_metric_line(format_metric_line({"step": 1, "progress": 1.0, "loss": math.nan}))["loss"] is None
    )
    for noise in [
        "",
        "step 3 loss 1.2",
        "RELAY_METRIC {not json",
        'RELAY_METRIC {"loss": 1}',
        "RELAY_METRIC [1]",
    ]:
        assert parse_metric_line(noise) is None
    assert (progress_percent(0, 8), progress_percent(3, 8), progress_percent(8, 8)) == (0.0, 37.5, 99.0)

    sink = MetricSink(tmp_path / "out", stream=(stream := __import__("io").StringIO()))
    sink.emit({"step": 1, "progress": 50.0, "loss": 2.0})
    sink.finish(step=2, epoch=1.0, loss=1.0)
    printed = [parse_metric_line(text) for text in stream.getvalue().splitlines()]
    stored = [json.loads(text) for text in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    assert printed == stored
    assert [record["progress"] for record in stored] == [50.0, 100.0]
    assert stored[-1]["final"] is True


def test_rewards_are_the_weighted_sum_of_testing_functions() -> None:
    weights = {"exact_match": 0.25, "token_f1": 2.0}
    functions, ordered = reward_functions(weights)
    assert [function.__name__ for function in functions] == ["exact_match", "token_f1"]
    assert ordered == [0.25, 2.0]
    completions = [[{"role": "assistant", "content": "blue sky"}], [{"role": "assistant", "content": "blue"}]]
    scores = [
        function(
            prompts=[[], []], completions=completions, expected_output=["blue", "blue"], input_text=["q", "q"]
        )
        for function in functions
    ]
    assert scores == [[0.0, 1.0], [pytest.approx(2 / 3), 1.0]]
    assert weighted_reward(weights, "q", "blue", "blue sky") == pytest.approx(2.0 * 2 / 3)
    assert completion_text("plain") == "plain"


def test_a_bad_job_writes_the_failure_reason_for_sagemaker(job: Job, run_job) -> None:
    job.write_rows([{"prompt": "p", "completion": "c"}])
    assert run_job(job, {"model_name_or_path": str(job.root / "nowhere")}) == 2
    reason = (job.output / "failure").read_text()
    assert reason.startswith("ConfigError: the base model must be a local directory")
