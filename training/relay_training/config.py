"""The job's settings: SageMaker paths from the environment and typed hyperparameters.

Hyperparameter names follow the control-plane spec (`learning_rate`, `num_train_epochs`,
`per_device_train_batch_size`, `num_generations`, `dynamic_loss`, `reward`, ...). SageMaker
delivers every value as a string, so each one is JSON-decoded when it can be.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from relay.evaluation import TESTING_FUNCTIONS

logger = logging.getLogger(__name__)

# Environment variables (SageMaker's own names where SageMaker defines one).
ENV_TRAIN = "SM_CHANNEL_TRAIN"
ENV_TEST = "SM_CHANNEL_TEST"
ENV_MODEL_CHANNEL = "SM_CHANNEL_MODEL"
ENV_MODEL_DIR = "SM_MODEL_DIR"
ENV_OUTPUT_DATA_DIR = "SM_OUTPUT_DATA_DIR"
ENV_OUTPUT_DIR = "SM_OUTPUT_DIR"
ENV_CHECKPOINT_DIR = "RELAY_CHECKPOINT_DIR"
ENV_HYPERPARAMETERS = "RELAY_HYPERPARAMETERS_FILE"

DEFAULT_HYPERPARAMETERS = "/opt/ml/input/config/hyperparameters.json"
DEFAULT_TRAIN = "/opt/ml/input/data/train"
DEFAULT_TEST = "/opt/ml/input/data/test"
DEFAULT_MODEL_CHANNEL = "/opt/ml/input/data/model"
DEFAULT_MODEL_DIR = "/opt/ml/model"
DEFAULT_OUTPUT_DATA_DIR = "/opt/ml/output/data"
DEFAULT_OUTPUT_DIR = "/opt/ml/output"
DEFAULT_CHECKPOINT_DIR = "/opt/ml/checkpoints"

TASK_TYPES = ("text-generation", "classification", "regression", "embedding")
TECHNIQUES = ("SFT", "GRPO")


class ConfigError(ValueError):
    """A hyperparameter or path the job cannot run with; the message names it."""


@dataclasses.dataclass(frozen=True)
class Paths:
    """Where the job reads data and the base model, and writes checkpoints, model and metrics."""

    train: Path
    test: Path | None
    model_channel: Path | None
    model_dir: Path
    output_data_dir: Path
    output_dir: Path
    checkpoint_dir: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Paths:
        def optional_dir(name: str, default: str) -> Path | None:
            path = Path(env.get(name, default))
            return path if path.is_dir() else None

        return cls(
            train=Path(env.get(ENV_TRAIN, DEFAULT_TRAIN)),
            test=optional_dir(ENV_TEST, DEFAULT_TEST),
            model_channel=optional_dir(ENV_MODEL_CHANNEL, DEFAULT_MODEL_CHANNEL),
            model_dir=Path(env.get(ENV_MODEL_DIR, DEFAULT_MODEL_DIR)),
            output_data_dir=Path(env.get(ENV_OUTPUT_DATA_DIR, DEFAULT_OUTPUT_DATA_DIR)),
            output_dir=Path(env.get(ENV_OUTPUT_DIR, DEFAULT_OUTPUT_DIR)),
            checkpoint_dir=Path(env.get(ENV_CHECKPOINT_DIR, DEFAULT_CHECKPOINT_DIR)),
        )


def _decode(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def load_hyperparameters(path: Path) -> dict[str, Any]:
    """hyperparameters.json with each string value JSON-decoded when possible; {} if absent."""
    if not path.is_file():
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must hold a JSON object")
    return {str(key): _decode(value) for key, value in raw.items()}


class _Reader:
    """Typed access to the hyperparameter dict that remembers which names were read."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = dict(values)
        self.used: set[str] = set()

    def raw(self, name: str, *aliases: str) -> Any:
        for key in (name, *aliases):
            if key in self.values and self.values[key] is not None:
                self.used.add(key)
                return self.values[key]
        return None

    def typed(self, name: str, convert: Callable[[Any], Any], default: Any, *aliases: str) -> Any:
        value = self.raw(name, *aliases)
        if value is None or value == "":
            return default
        try:
            return convert(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"hyperparameter {name!r}: cannot use {value!r} ({exc})") from exc


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError("expected true or false")


def _positive(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def checked(value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("expected a number")
        result = convert(value)
        if result <= 0:
            raise ValueError("must be greater than 0")
        return result

    return checked


def _mapping(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return {str(key): item for key, item in value.items()}


def _reward(value: Any) -> dict[str, float]:
    weights = {name: float(weight) for name, weight in _mapping(value).items()}
    unknown = sorted(set(weights) - set(TESTING_FUNCTIONS))
    if unknown:
        raise ValueError(f"unknown testing functions {unknown}; known: {sorted(TESTING_FUNCTIONS)}")
    if not weights:
        raise ValueError("needs at least one testing function")
    return weights


def _string_list(value: Any) -> list[str] | str:
    if isinstance(value, str):
        return value  # PEFT also accepts the shorthand "all-linear"
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ValueError("expected a list of module names or a string")


@dataclasses.dataclass(frozen=True)
class JobConfig:
    """Every hyperparameter the training code reads, with its type and default applied."""

    task_type: str
    technique: str
    base_model_path: Path
    base_model: str
    learning_rate: float
    num_train_epochs: float
    per_device_train_batch_size: int
    per_device_eval_batch_size: int
    gradient_accumulation_steps: int
    max_steps: int
    seed: int
    logging_steps: float
    save_steps: int | None
    save_total_limit: int | None
    warmup_ratio: float
    weight_decay: float
    max_length: int
    gradient_checkpointing: bool
    use_lora: bool
    lora_r: int
    lora_alpha: int
    lora_dropout: float
    lora_target_modules: list[str] | str
    merge_lora: bool
    dynamic_loss: bool
    reward: dict[str, float]
    num_generations: int
    max_completion_length: int
    temperature: float
    beta: float
    contrastive_temperature: float
    ignored: tuple[str, ...] = ()


def _default_learning_rate(task_type: str, technique: str, use_lora: bool) -> float:
    if task_type == "text-generation":
        if technique == "GRPO":
            return 1e-5 if use_lora else 1e-6
        return 2e-4 if use_lora else 2e-5
    return 5e-5 if use_lora else 2e-5


def parse_config(hyperparameters: Mapping[str, Any], paths: Paths) -> JobConfig:
    """A validated JobConfig; ConfigError names the first hyperparameter that cannot be used."""
    read = _Reader(hyperparameters)
    task_type = read.typed("task_type", str, "text-generation")
    if task_type not in TASK_TYPES:
        raise ConfigError(f"hyperparameter 'task_type': {task_type!r} is not one of {list(TASK_TYPES)}")
    reward = read.typed("reward", _reward, {})
    technique = str(read.typed("training_technique", str, "GRPO" if reward else "SFT")).upper()
    if technique not in TECHNIQUES:
        raise ConfigError(f"hyperparameter 'training_technique': {technique!r} is not SFT or GRPO")
    if technique == "GRPO" and task_type != "text-generation":
        raise ConfigError("GRPO trains text-generation models only; set task_type to text-generation")
    if technique == "GRPO" and not reward:
        raise ConfigError("hyperparameter 'reward' is required for GRPO: {testing_function: weight}")

    model_path = read.typed("model_name_or_path", str, None)
    if model_path is None and paths.model_channel is not None:
        model_path = str(paths.model_channel)
    if model_path is None or not Path(model_path).is_dir():
        raise ConfigError(
            "the base model must be a local directory: set hyperparameter 'model_name_or_path' "
            f"or provide the 'model' channel (got {model_path!r}); models are never fetched from a hub"
        )

    generation = task_type == "text-generation"
    use_lora = read.typed("use_lora", _boolean, generation)
    positive_int = _positive(int)
    config = JobConfig(
        task_type=task_type,
        technique=technique,
        base_model_path=Path(model_path),
        base_model=str(read.typed("base_model", str, Path(model_path).name)),
        learning_rate=read.typed(
            "learning_rate", _positive(float), _default_learning_rate(task_type, technique, use_lora)
        ),
        num_train_epochs=read.typed(
            "num_train_epochs", _positive(float), 1.0 if technique == "GRPO" else 3.0, "epochs"
        ),
        per_device_train_batch_size=read.typed(
            "per_device_train_batch_size", positive_int, 4 if technique == "GRPO" else 2, "batch_size"
        ),
        per_device_eval_batch_size=read.typed("per_device_eval_batch_size", positive_int, 2),
        gradient_accumulation_steps=read.typed("gradient_accumulation_steps", positive_int, 1),
        max_steps=read.typed("max_steps", int, -1),
        seed=read.typed("seed", int, 42),
        logging_steps=read.typed("logging_steps", _positive(float), 0.01),
        save_steps=read.typed("save_steps", positive_int, None),
        save_total_limit=read.typed("save_total_limit", positive_int, None),
        warmup_ratio=read.typed("warmup_ratio", float, 0.0),
        weight_decay=read.typed("weight_decay", float, 0.0),
        max_length=read.typed("max_length", positive_int, 1024, "max_seq_length"),
        gradient_checkpointing=read.typed("gradient_checkpointing", _boolean, generation),
        use_lora=use_lora,
        lora_r=read.typed("lora_r", positive_int, 16),
        lora_alpha=read.typed("lora_alpha", positive_int, 32),
        lora_dropout=read.typed("lora_dropout", float, 0.05),
        lora_target_modules=read.typed("lora_target_modules", _string_list, "all-linear"),
        merge_lora=read.typed("merge_lora", _boolean, False),
        dynamic_loss=read.typed("dynamic_loss", _boolean, False),
        reward=reward,
        num_generations=read.typed("num_generations", _positive(int), 4),
        max_completion_length=read.typed("max_completion_length", positive_int, 256),
        temperature=read.typed("temperature", _positive(float), 1.0),
        beta=read.typed("beta", float, 0.0),
        contrastive_temperature=read.typed("contrastive_temperature", _positive(float), 0.05),
    )
    # Names the control plane sends for its own use (dataset ids, test functions, SageMaker's
    # sagemaker_* keys) are not errors; they are listed once so a typo is still visible.
    ignored = tuple(sorted(set(read.values) - read.used))
    if ignored:
        logger.info("hyperparameters not used by the training code: %s", ", ".join(ignored))
    return dataclasses.replace(config, ignored=ignored)
