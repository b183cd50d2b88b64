"""The control plane's create-time checks agree with the rules the trainer enforces at run time."""

from __future__ import annotations

from pathlib import Path

import pytest

from relay.catalogue import catalogue, validate_training_parameters
from relay.catalogue.hyperparameters import cross_parameter_problems
from relay_training.config import ConfigError, Paths, parse_config
from relay_training.grpo import check_group_size

pytestmark = pytest.mark.training

REWARD = {"exact_match": 1.0}


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    (tmp_path / "base").mkdir()
    return Paths.from_env(
        {"SM_CHANNEL_TRAIN": str(tmp_path / "train"), "SM_CHANNEL_MODEL": str(tmp_path / "base")}
    )


GRPO_MODELS = [s.name for s in catalogue().values() if "GRPO" in s.training_techniques]


@pytest.mark.parametrize("model", GRPO_MODELS)
def test_each_base_models_grpo_defaults_pass_the_trainers_group_rule(model: str, paths: Paths) -> None:
    defaults = validate_training_parameters(model, technique="GRPO")
    config = parse_config({**defaults, "reward": REWARD, "task_type": "text-generation"}, paths)
    check_group_size(config)  # raises ConfigError when the job would fail after reaching Running


@pytest.mark.parametrize("batch", range(1, 9))
@pytest.mark.parametrize("generations", range(1, 9))
def test_the_create_time_rule_is_the_trainers(batch: int, generations: int, paths: Paths) -> None:
    values = {"per_device_train_batch_size": batch, "num_generations": generations}
    config = parse_config({**values, "reward": REWARD}, paths)
    try:
        check_group_size(config)
        trainer_refuses = False
    except ConfigError:
        trainer_refuses = True
    assert bool(cross_parameter_problems("GRPO", values)) is trainer_refuses
