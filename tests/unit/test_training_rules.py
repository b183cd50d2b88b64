"""Training-job rules that need no AWS: the transition table, data preparation, the pipeline's readings."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

# Collected by the training environment's pytest too, which has no AWS SDK: skip there.
pytest.importorskip("botocore")

from relay.backends.sagemaker.control import TrainingJobState
from relay.pipeline import data, monitor, steps, testing
from relay.pipeline.prepare import hyperparameters
from relay.protocol.training import CreateGRPOTrainingJobRequest, CreateTrainingJobRequest
from relay.services.training import status as st
from relay.services.training.models import LossPoint, TrainingJob

pytestmark = pytest.mark.unit

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "functions" / "pipeline"))
from relay_training.metrics import parse_metric_line  # noqa: E402 - the copy the pipeline Lambda ships


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("Pending", "Running", True),
        ("Pending", "Cancelled", True),
        ("Pending", "TimedOut", True),
        ("Pending", "Testing", False),
        ("Pending", "Success", False),
        ("Running", "Testing", True),
        ("Running", "TimedOut", True),
        ("Running", "Pending", False),
        ("Running", "Running", False),
        ("Testing", "Success", True),
        ("Testing", "TimedOut", False),
        ("Success", "Failed", False),
        ("Cancelled", "Cancelled", False),
        ("Failed", "Running", False),
        ("Unknown", "Running", False),
    ],
)
def test_transition_table(current: str, target: str, allowed: bool) -> None:
    assert st.can_transition(current, target) is allowed


def test_terminal_statuses_go_nowhere_and_sources_follow_the_table() -> None:
    for status in st.TERMINAL:
        assert not any(st.can_transition(status, other) for other in st.STATUSES)
    assert set(st.sources_of("Cancelled")) == {"Pending", "Running", "Testing"}
    assert st.sources_of("Pending") == ()


def test_split_is_seeded_and_keeps_both_sides() -> None:
    rows = [{"prompt": str(i), "completion": str(i)} for i in range(10)]
    train, test = data.split(rows, 20, seed="tr-1")
    assert (len(train), len(test)) == (8, 2)
    assert data.split(rows, 20, seed="tr-1") == (train, test)
    assert {r["prompt"] for r in train} | {r["prompt"] for r in test} == {str(i) for i in range(10)}
    assert len(data.split(rows[:2], 99, seed="x")[0]) == 1
    with pytest.raises(data.DataPreparationError):
        data.split(rows[:1], 50, seed="x")


def test_prepare_uses_the_test_dataset_downsamples_and_rebalances() -> None:
    rows = [{"text": f"t{i}", "label": "a" if i < 8 else "b"} for i in range(10)]
    train, test = data.prepare(rows, [{"text": "x", "label": "a"}], {"downsample_size": 6}, seed="s")
    assert len(train) == 6 and test == [{"text": "x", "label": "a"}]
    balanced = data.rebalance(rows, {"a": 0.5, "b": 0.5}, seed="s")
    assert sorted(r["label"] for r in balanced).count("b") == 5 and len(balanced) == 10
    counted = data.rebalance(rows, {"b": 4}, seed="s")
    assert [r["label"] for r in counted].count("b") == 4 and [r["label"] for r in counted].count("a") == 8
    with pytest.raises(data.DataPreparationError, match="labels"):
        data.rebalance(rows, {"c": 1}, seed="s")


def test_rebalance_by_ratio_keeps_the_size_and_by_count_hits_the_counts() -> None:
    rows = [{"text": f"a{i}", "label": "a"} for i in range(80)]
    rows += [{"text": f"b{i}", "label": "b"} for i in range(20)] + [{"text": "c", "label": "c"}]

    def counts(found: list[dict[str, str]]) -> dict[str, int]:
        return {label: sum(1 for row in found if row["label"] == label) for label in "abc"}

    assert counts(data.rebalance(rows, {"a": 0.5, "b": 0.5}, seed="1")) == {"a": 50, "b": 50, "c": 1}
    by_count = data.rebalance(rows, {"a": 10, "b": 30}, seed="1")
    assert counts(by_count) == {"a": 10, "b": 30, "c": 1}
    # No duplicates while rows suffice; drawn with replacement beyond that.
    assert len({row["text"] for row in by_count if row["label"] == "a"}) == 10
    assert len({row["text"] for row in by_count if row["label"] == "b"}) == 20
    with pytest.raises(data.DataPreparationError, match="labels the dataset does not have"):
        data.rebalance(rows, {"z": 1}, seed="1")


def test_downsample_is_seeded_and_bounded() -> None:
    rows = [{"n": n} for n in range(100)]
    assert data.downsample(rows, 10, seed="3") == data.downsample(rows, 10, seed="3")
    assert len({row["n"] for row in data.downsample(rows, 10, seed="3")}) == 10
    assert data.downsample(rows, 0, seed="3") == rows
    assert data.downsample(rows, 500, seed="3") == rows


def test_the_pipeline_downsamples_before_it_rebalances() -> None:
    rows = [{"text": f"a{i}", "label": "a"} for i in range(90)] + [
        {"text": f"b{i}", "label": "b"} for i in range(10)
    ]
    train, _ = data.prepare(rows, [], {"downsample_size": 20, "rebalance_data": {"a": 5, "b": 5}}, seed="s")
    # Rebalancing last: the counts asked for are exactly what the trainer gets.
    assert sorted(row["label"] for row in train) == ["a"] * 5 + ["b"] * 5


def test_parse_rows_reads_jsonl_json_and_csv() -> None:
    assert data.parse_rows(b'{"a": 1}\n\n{"a": 2}\n', "x.jsonl") == [{"a": 1}, {"a": 2}]
    assert data.parse_rows(b'[{"a": 1}]', "x.json") == [{"a": 1}]
    assert data.parse_rows(b"text,label\nhi,pos\n", "x.csv") == [{"text": "hi", "label": "pos"}]


def test_hyperparameters_for_sagemaker_are_strings_without_data_keys() -> None:
    job = TrainingJob(
        id="tr-1",
        project_id="ms-1",
        name="j",
        created_at=1,
        updated_at=1,
        task_type="text-generation",
        training_technique="GRPO",
        base_model="tiny-local",
        reward={"exact_match": 1.0},
        hyper_parameters={
            "learning_rate": 0.001,
            "lora_rank": 8,
            "downsample_size": 0,
            "train_test_split_ratio": 10,
        },
    )
    values = hyperparameters(job)
    assert values["lora_r"] == "8" and "lora_rank" not in values
    assert "downsample_size" not in values and "train_test_split_ratio" not in values
    assert json.loads(values["reward"]) == {"exact_match": 1.0}
    assert all(isinstance(v, str) for v in values.values())


def test_metric_lines_become_progress_and_loss_points() -> None:
    lines = [
        'RELAY_METRIC {"timestamp": 10.0, "step": 1, "progress": 20.0, "loss": 2.5}',
        "some other log line",
        'RELAY_METRIC {"timestamp": 11.0, "step": 1, "progress": 20.0, "eval_loss": 2.0}',
        'RELAY_METRIC {"timestamp": 12.0, "step": 2, "progress": 100.0, "loss": 2.25, "final": true}',
    ]
    records = [r for r in map(parse_metric_line, lines) if r]
    assert [p.loss for p in monitor.loss_points(records, after=0)] == [2.5, 2.25]
    assert monitor.loss_points(records, after=10.0) == [LossPoint(timestamp=12.0, loss=2.25)]


@pytest.mark.parametrize(
    ("status", "secondary", "outcome"),
    [
        ("InProgress", "Training", "InProgress"),
        ("Stopping", "Stopping", "InProgress"),
        ("Completed", "Completed", "Completed"),
        ("Stopped", "MaxRuntimeExceeded", "TimedOut"),
        ("Stopped", "MaxWaitTimeExceeded", "TimedOut"),
        ("Stopped", "Stopped", "Stopped"),
    ],
)
def test_sagemaker_status_to_outcome(status: str, secondary: str, outcome: str) -> None:
    assert monitor.outcome_of(TrainingJobState(status, secondary)) == outcome


def test_failed_sagemaker_job_raises_its_reason() -> None:
    with pytest.raises(monitor.TrainingJobFailedError, match="CUDA out of memory"):
        monitor.outcome_of(TrainingJobState("Failed", failure_reason="AlgorithmError: CUDA out of memory"))


def test_failure_reason_from_catch_output() -> None:
    lambda_error = {
        "Error": "PipelineStepError",
        "Cause": json.dumps({"errorMessage": "dataset ds-1 is gone"}),
    }
    assert steps.failure_reason(lambda_error) == "dataset ds-1 is gone"
    sdk_error = {
        "Error": "SageMaker.ResourceLimitExceededException",
        "Cause": "no capacity (Service: SageMaker)",
    }
    assert (
        steps.failure_reason(sdk_error)
        == "SageMaker.ResourceLimitExceededException: no capacity (Service: SageMaker)"
    )
    assert steps.failure_reason(None) == "the training pipeline failed"


def test_checkpoints_need_their_metadata_and_scores_are_means() -> None:
    prefix = "p/checkpoints/"
    keys = [
        prefix + "checkpoint-5/relay_checkpoint.json",
        prefix + "checkpoint-9/model.safetensors",
        prefix + "checkpoint-10/relay_checkpoint.json",
    ]
    assert testing.checkpoint_numbers(keys, prefix) == [5, 10]
    rows = [
        {"input": "q", "expected": "paris", "predicted": "paris"},
        {"input": "q", "expected": "rome", "predicted": "paris"},
    ]
    scored, aggregated = testing.score_rows(rows, ["exact_match"])
    assert aggregated == {"exact_match": "0.5000"}
    assert [r["scores"]["exact_match"] for r in scored] == [1.0, 0.0]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"base_model_option": "fine-tuned"}, "checkpoint is required"),
        ({"checkpoint": 3}, "checkpoint is only used"),
        ({"test_dataset_id": "ds-2", "train_test_split_ratio": 10}, "not both"),
        ({"rebalance_data": {"a": 1}}, "classification"),
        ({"hf_model_link": "https://huggingface.co/x"}, "not supported"),
        ({"test_functions": ["no_such_function"]}, "unknown testing function"),
        ({"train_test_split_ratio": 100}, "less than 100"),
    ],
)
def test_request_rules(body: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CreateTrainingJobRequest.model_validate(
            {"base_model": "tiny-local", "train_dataset_id": "ds-1", **body}
        )


def test_grpo_rewards_must_be_known_and_non_negative() -> None:
    base = {"base_model": "tiny-local", "train_dataset_id": "ds-1", "test_functions": ["exact_match"]}
    with pytest.raises(ValueError, match="unknown testing function"):
        CreateGRPOTrainingJobRequest.model_validate({**base, "reward": {"nope": 1}})
    with pytest.raises(ValueError, match="non-negative"):
        CreateGRPOTrainingJobRequest.model_validate({**base, "reward": {"exact_match": -1}})
    ok = CreateGRPOTrainingJobRequest.model_validate({**base, "reward": {"exact_match": 0.5, "token_f1": 0}})
    assert ok.reward == {"exact_match": 0.5, "token_f1": 0}


def test_metrics_are_read_only_from_the_jobs_own_log_streams() -> None:
    from relay.pipeline.monitor import read_metrics

    class Logs:
        class exceptions:
            class ResourceNotFoundException(Exception):
                pass

        def filter_log_events(self, **kwargs: object) -> dict[str, object]:
            # A backend that ignores logStreamNamePrefix, as moto's does.
            return {
                "events": [
                    {
                        "logStreamName": "tr-a/algo-1-1",
                        "timestamp": 10,
                        "message": 'RELAY_METRIC {"loss": 1.0}',
                    },
                    {
                        "logStreamName": "tr-ab/algo-1-1",
                        "timestamp": 20,
                        "message": 'RELAY_METRIC {"loss": 9.0}',
                    },
                ]
            }

    def parse(line: str) -> dict[str, object] | None:
        return json.loads(line.split(" ", 1)[1]) if line.startswith("RELAY_METRIC ") else None

    records, cursor = read_metrics(Logs(), "tr-a", 0, parse)
    assert records == [{"loss": 1.0}]
    assert cursor == 10
