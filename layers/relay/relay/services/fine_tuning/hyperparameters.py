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
from relay.protocol.fine_tuning import CreateFineTuningJobRequest, Hyperparameters, MethodType
from relay.protocol.training import TrainingTechnique
from relay.services.fine_tuning.graders import Reward, reward_of

# OpenAI name -> catalogue name (learning_rate_multiplier is a factor on learning_rate).
CATALOGUE_NAMES = {"n_epochs": "num_train_epochs", "batch_size": "per_device_train_batch_size"}
LEARNING_RATE = "learning_rate"


@dataclass(frozen=True)
class TrainingPlan:
    parameters: dict[str, Any]  # the training job's `parameters` (catalogue names)
    hyperparameters: dict[str, Any]  # OpenAI's names with the values used
    method: MethodType
    technique: TrainingTechnique
    reward: Reward | None = None  # reinforcement: GRPO's testing function and the reference field
    grader: dict[str, Any] | None = None  # as the client gave it, for the job object


def _method(
    request: CreateFineTuningJobRequest,
) -> tuple[MethodType, Hyperparameters | None, str, dict[str, Any] | None]:
    method = request.method
    if method is None:
        return "supervised", request.hyperparameters, "hyperparameters", None
    if method.type == "dpo":
        raise BadRequestError(
            "method.type 'dpo' is not supported: Relay trains supervised (SFT) and reinforcement (GRPO) jobs",
            param="method.type",
        )
    others = {"supervised": method.supervised, "dpo": method.dpo, "reinforcement": method.reinforcement}
    stray = [name for name, body in others.items() if body is not None and name != method.type]
    if stray:
        raise BadRequestError(
            f"method.type is '{method.type}': give only method.{method.type}", param=f"method.{stray[0]}"
        )
    if method.type == "reinforcement":
        if method.reinforcement is None:
            raise BadRequestError(
                "method.reinforcement (with a grader) is required", param="method.reinforcement"
            )
        return (
            "reinforcement",
            method.reinforcement.hyperparameters,
            "method.reinforcement.hyperparameters",
            method.reinforcement.grader,
        )
    supervised = method.supervised
    return (
        "supervised",
        supervised.hyperparameters if supervised else None,
        "method.supervised.hyperparameters",
        None,
    )


def plan(request: CreateFineTuningJobRequest, spec: BaseModelSpec, seed: int) -> TrainingPlan:
    """The training job's parameters and the resolved OpenAI hyperparameters, or BadRequestError."""
    method, given, where, grader = _method(request)
    technique: TrainingTechnique = "GRPO" if method == "reinforcement" else "SFT"
    if technique not in spec.training_techniques:
        raise BadRequestError(f"model '{spec.name}' cannot be trained with {technique}", param="method.type")
    reward = reward_of(grader) if method == "reinforcement" else None
    defaults = validate_training_parameters(spec.name, technique=technique)
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
        resolved = validate_training_parameters(spec.name, technique=technique, parameters=chosen)
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
        technique=technique,
        reward=reward,
        grader=grader,
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
    if exc.param == "parameters.num_generations":  # GRPO's group rule: the batch size is the client's knob
        param = f"{where}.batch_size"
    if param and param.startswith(f"{where}.learning_rate_multiplier"):
        param = f"{where}.learning_rate_multiplier"
    return BadRequestError(message, param=param)
