"""Reinforcement fine-tuning mapped onto GRPO: graders to testing functions, lines to prompt/completion
rows, and what cannot be honoured refused by name (on the same in-memory world as the service tests)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from relay.errors import BadRequestError
from relay.protocol.fine_tuning import CreateFineTuningJobRequest
from relay.services.fine_tuning.graders import reward_of
from relay.services.fine_tuning.rft_lines import to_prompt_completion
from tests.unit.test_fine_tuning_service import K1, World

pytestmark = pytest.mark.unit

SAMPLE, REFERENCE = "{{sample.output_text}}", "{{ item.answer }}"
LINES = b"".join(
    json.dumps(
        {
            "messages": [
                {"role": "developer", "content": "Answer with a number."},
                {"role": "user", "content": f"{i}+1?"},
            ],
            "answer": str(i + 1),
        }
    ).encode()
    + b"\n"
    for i in range(6)
)


def _grader(**changes: Any) -> dict[str, Any]:
    return {
        "type": "string_check",
        "name": "g",
        "input": SAMPLE,
        "reference": REFERENCE,
        "operation": "eq",
        **changes,
    }


def _method(grader: dict[str, Any], **hyperparameters: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"grader": grader}
    if hyperparameters:
        body["hyperparameters"] = hyperparameters
    return {"type": "reinforcement", "reinforcement": body}


@pytest.mark.parametrize(
    ("grader", "function"),
    [
        (_grader(), "exact_match"),
        (_grader(operation="ilike"), "contains_match"),
        (
            {
                "type": "text_similarity",
                "name": "s",
                "input": SAMPLE,
                "reference": "{{item.answer}}",
                "evaluation_metric": "rouge_l",
            },
            "rouge_l",
        ),
        (
            {
                "type": "text_similarity",
                "name": "s",
                "input": SAMPLE,
                "reference": "{{item.answer}}",
                "evaluation_metric": "fuzzy_match",
            },
            "sequence_similarity",
        ),
    ],
)
def test_graders_that_compare_with_a_field_map_onto_testing_functions(
    grader: dict[str, Any], function: str
) -> None:
    reward = reward_of(grader)
    assert (reward.function, reward.reference_field) == (function, "answer")


@pytest.mark.parametrize(
    ("grader", "field"),
    [
        (_grader(operation="ne"), "operation"),
        (_grader(operation="like"), "operation"),
        ({**_grader(type="text_similarity"), "evaluation_metric": "meteor"}, "evaluation_metric"),
        ({"type": "score_model", "name": "m", "model": "o4-mini", "input": []}, "type"),
        ({"type": "multi", "graders": {}, "calculate_output": "a"}, "type"),
        (_grader(input="{{item.answer}}"), "input"),
        (_grader(reference="paris"), "reference"),
    ],
)
def test_other_graders_are_a_400_naming_the_field(grader: dict[str, Any], field: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        reward_of(grader)
    assert caught.value.param == f"method.reinforcement.grader.{field}"


def test_lines_become_prompt_completion_rows_with_their_system_message() -> None:
    rows, report = to_prompt_completion(LINES, "answer")
    assert report.ok and report.rows == 6
    first = json.loads(rows.splitlines()[0])
    assert first == {"prompt": "0+1?", "completion": "1", "system": "Answer with a number."}


def test_lines_that_do_not_fit_are_reported_by_number() -> None:
    bad = (
        LINES
        + b"\n"
        + b"".join(
            json.dumps(line).encode() + b"\n"
            for line in (
                {
                    "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
                    "answer": "a",
                },
                {"messages": [{"role": "user", "content": "q"}]},
                {"messages": [{"role": "user", "content": "q"}], "answer": 3},
            )
        )
        + b"{oops\n"
    )
    _, report = to_prompt_completion(bad, "answer")
    assert [p.line for p in report.problems] == [8, 9, 10, 11]
    assert "one user message" in report.problems[0].message and "'answer'" in report.problems[1].message


def test_a_reinforcement_job_is_a_grpo_training_job_rewarded_by_the_function() -> None:
    world = World()
    file_id = world.upload(LINES)
    job = world.service.create(
        K1,
        CreateFineTuningJobRequest.model_validate(
            {
                "model": "tiny-local",
                "training_file": file_id,
                "method": _method(_grader(), n_epochs=2, batch_size=4),
            }
        ),
    )
    assert job.status == "queued" and job.method is not None and job.method.type == "reinforcement"
    assert job.method.reinforcement is not None and job.method.reinforcement.grader["operation"] == "eq"
    assert job.project_id and job.training_job_id
    trained = world.jobs.get(job.project_id, job.training_job_id)
    assert trained is not None and trained.training_technique == "GRPO" and trained.train_dataset_id
    assert trained.test_functions == ["exact_match"] and trained.reward == {"exact_match": 1.0}
    assert trained.hyper_parameters["num_train_epochs"] == 2
    dataset = world.table.datasets[(job.project_id, trained.train_dataset_id)]
    assert dataset.format == "prompt_completion" and dataset.num_rows == 6


def test_a_reinforcement_file_that_does_not_fit_fails_the_job_with_its_lines() -> None:
    world = World()
    chats = b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}\n'
    job = world.service.create(
        K1,
        CreateFineTuningJobRequest.model_validate(
            {"model": "tiny-local", "training_file": world.upload(chats), "method": _method(_grader())}
        ),
    )
    assert job.status == "failed" and job.error is not None and job.error.code == "invalid_training_file"
    assert "line 1" in job.error.message and world.pipelines.started == {}


@pytest.mark.parametrize(
    ("hyperparameters", "param"),
    [
        ({"compute_multiplier": 2}, "method.reinforcement.hyperparameters.compute_multiplier"),
        ({"eval_samples": 4}, "method.reinforcement.hyperparameters.eval_samples"),
        ({"reasoning_effort": "high"}, "method.reinforcement.hyperparameters.reasoning_effort"),
    ],
)
def test_sampling_knobs_grpo_lacks_are_refused(hyperparameters: dict[str, Any], param: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as caught:
        CreateFineTuningJobRequest.model_validate(
            {"model": "tiny-local", "training_file": "f", "method": _method(_grader(), **hyperparameters)}
        )
    assert ".".join(str(p) for p in caught.value.errors()[0]["loc"]) == param


def test_a_batch_that_does_not_fit_grpos_groups_names_batch_size() -> None:
    world = World()
    with pytest.raises(BadRequestError) as caught:
        world.service.create(
            K1,
            CreateFineTuningJobRequest.model_validate(
                {
                    "model": "tiny-local",
                    "training_file": world.upload(LINES),
                    "method": _method(_grader(), batch_size=3),
                }
            ),
        )
    assert caught.value.param == "method.reinforcement.hyperparameters.batch_size"
