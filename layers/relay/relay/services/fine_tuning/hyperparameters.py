"""OpenAI's method and hyperparameters mapped onto the catalogue's parameter template.

`n_epochs` and `batch_size` are the catalogue's `num_train_epochs` and
`per_device_train_batch_size`; `learning_rate_multiplier` scales the catalogue's default
learning rate. `"auto"` is the catalogue's default. The catalogue checks the bounds; its
errors are renamed to the OpenAI field the client sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relay.catalogue import BaseModelSpec, validate_training_parameters
from relay.errors import BadRequestError
from relay.protocol.fine_tuning import CreateFineTuningJobRequest, Hyperparameters

# OpenAI name -> catalogue name (learning_rate_multiplier is a factor on learning_rate).
CATALOGUE_NAMES = {"n_epochs": "num_train_epochs", "batch_size": "per_device_train_batch_size"}
LEARNING_RATE = "learning_rate"


@dataclass(frozen=True)
class TrainingPlan:
    parameters: dict[str, Any]  # the training job's `parameters` (catalogue names)
    hyperparameters: dict[str, Any]  # OpenAI's names with the values used
    method: str
    param: str  # where the client put its hyperparameters, for error messages


def _method(request: CreateFineTuningJobRequest) -> tuple[str, Hyperparameters | None, str]:
    method = request.method
    if method is None:
        return "supervised", request.hyperparameters, "hyperparameters"
    if method.type == "dpo":
        raise BadRequestError(
            "method.type 'dpo' is not supported: Relay trains supervised (SFT) and GRPO jobs",
            param="method.type",
        )
    if method.type == "reinforcement":
        raise BadRequestError(
            "method.type 'reinforcement' cannot be honoured here: OpenAI's graders score sampled "
            "chat answers against fields of each training line, and Relay's GRPO trains on "
            "prompt/completion datasets with its testing functions as rewards; train it through "
            "POST /v1/projects/{project_id}/training-jobs/grpo",
            param="method.type",
        )
    if method.dpo is not None or method.reinforcement is not None:
        raise BadRequestError(
            "method.type is 'supervised': give only method.supervised", param="method.supervised"
        )
    supervised = method.supervised
    return (
        "supervised",
        supervised.hyperparameters if supervised else None,
        "method.supervised.hyperparameters",
    )


def plan(request: CreateFineTuningJobRequest, spec: BaseModelSpec, seed: int) -> TrainingPlan:
    """The training job's parameters and the resolved OpenAI hyperparameters, or BadRequestError."""
    method, given, where = _method(request)
    defaults = validate_training_parameters(spec.name, technique="SFT")
    chosen: dict[str, Any] = {"seed": seed}
    for name, catalogue_name in CATALOGUE_NAMES.items():
        value = getattr(given, name, None) if given else None
        if value not in (None, "auto"):
            chosen[catalogue_name] = value
    multiplier = given.learning_rate_multiplier if given else None
    factor = 1.0 if multiplier in (None, "auto") else float(multiplier)
    if factor != 1.0:
        chosen[LEARNING_RATE] = float(defaults[LEARNING_RATE]) * factor
    try:
        resolved = validate_training_parameters(spec.name, technique="SFT", parameters=chosen)
    except BadRequestError as exc:
        raise _renamed(exc, where, float(defaults[LEARNING_RATE])) from exc
    return TrainingPlan(
        parameters=chosen,
        hyperparameters={
            "n_epochs": resolved[CATALOGUE_NAMES["n_epochs"]],
            "batch_size": resolved[CATALOGUE_NAMES["batch_size"]],
            "learning_rate_multiplier": factor,
        },
        method=method,
        param=where,
    )


def _renamed(exc: BadRequestError, where: str, default_rate: float) -> BadRequestError:
    """The catalogue's `parameters.num_train_epochs must be ...` as `<where>.n_epochs must be ...`."""
    names = {f"parameters.{catalogue}": f"{where}.{openai}" for openai, catalogue in CATALOGUE_NAMES.items()}
    names["parameters.seed"] = "seed"
    names[f"parameters.{LEARNING_RATE}"] = (
        f"{where}.learning_rate_multiplier (times the default learning rate {default_rate:g})"
    )
    message = exc.message
    for catalogue, openai in names.items():
        message = message.replace(catalogue, openai)
    param = names.get(exc.param or "", exc.param)
    if param and param.startswith(f"{where}.learning_rate_multiplier"):
        param = f"{where}.learning_rate_multiplier"
    return BadRequestError(message, param=param)
