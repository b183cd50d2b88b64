"""Pure rules of the fine-tuning API: `ft:` ids, the status table, request shapes, the resolver hook."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from pydantic import ValidationError

from relay.errors import ModelNotFoundError
from relay.protocol.fine_tuning import CreateFineTuningJobRequest, FineTuningStatus
from relay.protocol.training import TrainingStatus
from relay.services.fine_tuning.models import FineTunedRef, FineTuningRecord, parse_fine_tuned
from relay.services.fine_tuning.status import ERROR_CODES, FINISHED, OPENAI_STATUS
from relay.services.training.status import TERMINAL
from tests.unit.test_model_resolver import BARE, Bedrock, chat, resolver

pytestmark = pytest.mark.unit


def _record(**changes: Any) -> FineTuningRecord:
    values: dict[str, Any] = {
        "id": "ftjob-0123456789abcdef",
        "owner": "k1",
        "project_id": "ms-0000000000000000",
        "model": "tiny-local",
        "base_model": "tiny-local",
        "created_at": 1,
        "training_file": "file-x",
        "seed": 1,
        "hyperparameters": {},
    }
    return FineTuningRecord(**{**values, **changes})


def test_fine_tuned_names_have_openais_shape_and_parse_back() -> None:
    record = _record(suffix="acc")
    assert record.fine_tuned_model == "ft:tiny-local:k1:acc:0123456789abcdef"
    assert _record().fine_tuned_model == "ft:tiny-local:k1::0123456789abcdef"
    assert parse_fine_tuned(record.fine_tuned_model) == FineTunedRef("k1", record.id)
    assert parse_fine_tuned(record.checkpoint_model(12)) == FineTunedRef("k1", record.id, 12)
    assert parse_fine_tuned(_record().fine_tuned_model) == FineTunedRef("k1", record.id)


@pytest.mark.parametrize(
    "model_id",
    [
        "tiny-local",
        "ft:",
        "ft:tiny-local:k1:acc",
        "ft:tiny-local::acc:0123456789abcdef",
        "ft:b:k1:s:nothex!",
        "ft:b:k1:s:abc",
    ],
)
def test_other_ids_are_not_fine_tuned_names(model_id: str) -> None:
    assert parse_fine_tuned(model_id) is None


def test_every_training_status_has_one_openai_status() -> None:
    assert set(OPENAI_STATUS) == set(get_args(TrainingStatus))
    assert set(OPENAI_STATUS.values()) <= set(get_args(FineTuningStatus))
    # A finished training job is a finished OpenAI job, and only those carry an error code.
    assert {OPENAI_STATUS[s] for s in TERMINAL} == set(FINISHED)
    assert all(OPENAI_STATUS[s] == "failed" for s in ERROR_CODES)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"suffix": ""}, "suffix"),
        ({"suffix": "a b"}, "suffix"),
        ({"metadata": {str(i): "v" for i in range(17)}}, "metadata"),
        ({"metadata": {"k": "v" * 513}}, "metadata"),
        ({"hyperparameters": {"batch_size": 0}}, "hyperparameters.batch_size"),
        ({"hyperparameters": {"learning_rate_multiplier": 0.0}}, "hyperparameters.learning_rate_multiplier"),
        ({"seed": 2**31}, "seed"),
        ({"integrations": [{"type": "wandb"}]}, "integrations"),
        ({"method": {"type": "supervised"}, "hyperparameters": {"n_epochs": 2}}, ""),
    ],
)
def test_request_shapes_are_checked_where_openai_names_them(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CreateFineTuningJobRequest.model_validate({"model": "tiny-local", "training_file": "file-x", **body})
    assert ".".join(str(p) for p in caught.value.errors()[0]["loc"]) == field


def test_the_resolver_maps_ft_ids_through_the_lookup_and_keeps_its_404() -> None:
    asked: list[str] = []

    def lookup(model_id: str) -> str:
        asked.append(model_id)
        if model_id.endswith(":ckpt-step-1"):
            raise ModelNotFoundError("not deployed: relay deploy ...", param="model")
        return "llama"

    r = resolver(Bedrock(), fine_tuned=lookup)
    assert chat(r, "ft:tiny-local:k1:acc:0123456789abcdef") == BARE
    with pytest.raises(ModelNotFoundError, match="relay deploy"):
        chat(r, "ft:tiny-local:k1:acc:0123456789abcdef:ckpt-step-1")
    assert chat(r, "llama") == BARE and len(asked) == 2  # other ids never ask


def test_job_ids_created_in_one_second_sort_newest_last_by_id() -> None:
    import time as clock

    from relay.services.fine_tuning.models import is_job_id, new_job_id

    ids = []
    for _ in range(3):
        ids.append(new_job_id())
        clock.sleep(0.002)
    assert all(is_job_id(i) for i in ids)
    assert ids == sorted(ids)  # (created_at, id) descending is newest first within a second


def test_file_and_batch_ids_are_time_ordered_and_keep_their_shape() -> None:
    import time as clock

    from relay.services.batches.models import new_batch_id
    from relay.services.files.models import is_file_id, new_file_id

    files, batches = [], []
    for _ in range(3):
        files.append(new_file_id())
        batches.append(new_batch_id())
        clock.sleep(0.002)
    assert all(is_file_id(f) for f in files) and files == sorted(files)
    assert all(len(b) == len("batch_") + 24 for b in batches) and batches == sorted(batches)
