"""The real entry point, `python train.py`, from the SageMaker source bundle, on SFT with LoRA."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from training_support import TRAINING, Job

from relay_training.checkpoints import list_checkpoints, read_checkpoint_metadata
from relay_training.metrics import parse_metric_line

pytestmark = pytest.mark.training

SFT_ROWS = [
    {"prompt": "what is the capital of france", "completion": "paris"},
    {
        "messages": [
            {"role": "user", "content": "what is the capital of italy"},
            {"role": "assistant", "content": "rome"},
        ]
    },
] * 8


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """package.py's archive, unpacked the way SageMaker unpacks sourcedir.tar.gz."""
    root = tmp_path_factory.mktemp("bundle")
    archive = root / "sourcedir.tar.gz"
    subprocess.run(
        [sys.executable, str(TRAINING / "package.py"), str(archive)], check=True, capture_output=True
    )
    code = root / "code"
    with tarfile.open(archive) as tar:
        tar.extractall(code, filter="data")
    return code


def test_bundle_is_self_contained_and_reproducible(bundle: Path, tmp_path: Path) -> None:
    names = {str(path.relative_to(bundle)) for path in bundle.rglob("*.py")}
    assert {
        "train.py",
        "relay_training/main.py",
        "relay/__init__.py",
        "relay/evaluation/registry.py",
    } <= names
    assert (bundle / "requirements.txt").read_text().count("torch==") == 1
    # The bundle's own relay.evaluation is found first, not the one installed in the environment.
    located = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import relay.evaluation as e; print(e.__file__)",
            str(bundle),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert Path(located).is_relative_to(bundle)
    again = tmp_path / "again.tar.gz"
    subprocess.run(
        [sys.executable, str(TRAINING / "package.py"), str(again)], check=True, capture_output=True
    )
    assert again.read_bytes() == (bundle.parent / "sourcedir.tar.gz").read_bytes()


def test_train_py_runs_sft_with_lora_and_reports_progress(bundle: Path, tiny_model: Path, job: Job) -> None:
    job.write_rows(SFT_ROWS)
    job.write_hyperparameters(
        {
            "model_name_or_path": str(tiny_model),
            "base_model": "tiny-llama",
            "max_steps": 6,
            "save_steps": 3,
            "logging_steps": 1,
            "learning_rate": 0.01,
            "per_device_train_batch_size": 2,
            "lora_r": 4,
            "gradient_checkpointing": False,
        }
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SM_", "RELAY_"))}
    env.update(job.env())
    result = subprocess.run(
        [sys.executable, "train.py"], cwd=bundle, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]

    records = [record for line in result.stdout.splitlines() if (record := parse_metric_line(line))]
    training = [record for record in records if "loss" in record and not record.get("final")]
    assert [record["step"] for record in training] == [1, 2, 3, 4, 5, 6]
    assert all(math.isfinite(record["loss"]) and record["loss"] > 0 for record in training)
    progress = [record["progress"] for record in records]
    assert progress == sorted(progress) and 0 < progress[0] < 100
    assert records[-1]["progress"] == 100 and records[-1]["final"] is True and records[-1]["step"] == 6
    # The same records, in the same order, land in metrics.jsonl for the job's output archive.
    assert job.metric_records() == records

    checkpoints = list_checkpoints(job.checkpoints)
    assert [path.name for path in checkpoints] == ["checkpoint-3", "checkpoint-6"]
    for path, step in zip(checkpoints, [3, 6], strict=True):
        metadata = read_checkpoint_metadata(path)
        assert metadata["checkpoint"] == metadata["step"] == step
        assert metadata["task_type"] == "text-generation" and metadata["training_technique"] == "SFT"
        assert metadata["base_model"] == "tiny-llama" and metadata["adapter"] is True
        assert math.isfinite(metadata["loss"])
        assert (path / "adapter_model.safetensors").is_file() and (path / "tokenizer.json").is_file()

    model_metadata = json.loads((job.model_dir / "relay_model.json").read_text())
    assert model_metadata["adapter"] is True and model_metadata["step"] == 6
    adapter = json.loads((job.model_dir / "adapter_config.json").read_text())
    assert adapter["r"] == 4 and adapter["base_model_name_or_path"] == str(tiny_model)
    assert not (job.output / "failure").exists()
