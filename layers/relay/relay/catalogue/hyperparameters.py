"""Checks a training request against the catalogue: the model exists, supports the task and technique,
and every hyperparameter is known, of the right type and within its bounds."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from relay.catalogue.base_models import BaseModelSpec, ParameterSpec, base_model
from relay.errors import BadRequestError


class _Problem(ValueError):
    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param, self.message = param, message


def _coerce(spec: ParameterSpec, value: Any) -> int | float | bool:
    param = f"parameters.{spec.name}"
    if spec.type == "boolean":
        if not isinstance(value, bool):
            raise _Problem(param, f"{param} must be true or false")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Problem(param, f"{param} must be a number")
    number: int | float = value
    if spec.type == "integer":
        if float(value) != int(value):
            raise _Problem(param, f"{param} must be a whole number")
        number = int(value)
    if spec.minimum is not None and number < spec.minimum:
        raise _Problem(param, f"{param} must be at least {spec.minimum:g}")
    if spec.maximum is not None and number > spec.maximum:
        raise _Problem(param, f"{param} must be at most {spec.maximum:g}")
    return number


# The trainer's default (training/relay_training/config.py); the catalogue does not expose it.
GRADIENT_ACCUMULATION_STEPS = 1


def cross_parameter_problems(technique: str, values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(param, message) for each rule between parameters that the trainer enforces at run time
    (training/relay_training/grpo.py `check_group_size`), so a job fails at create, not Running."""
    problems: list[tuple[str, str]] = []
    if technique == "GRPO" and "num_generations" in values:
        generations = int(values["num_generations"])
        batch = int(values.get("per_device_train_batch_size", 1))
        per_step = batch * int(values.get("gradient_accumulation_steps", GRADIENT_ACCUMULATION_STEPS))
        if generations < 2 or per_step % generations:
            problems.append(
                (
                    "parameters.num_generations",
                    f"parameters.num_generations ({generations}) must be at least 2 and divide "
                    f"per_device_train_batch_size x gradient_accumulation_steps ({batch} x "
                    f"{per_step // batch}); GRPO compares the completions of one prompt within a batch",
                )
            )
    return problems


def resolve_base_model(name: str) -> BaseModelSpec:
    spec = base_model(name)
    if spec is None:
        raise BadRequestError(
            f"Unknown base model '{name}'; GET /v1/models lists the ones Relay can fine-tune",
            param="base_model",
        )
    return spec


def validate_training_parameters(
    model_name: str,
    *,
    task_type: str = "text-generation",
    technique: str = "SFT",
    parameters: Mapping[str, Any] | None = None,
) -> dict[str, int | float | bool]:
    """The full hyperparameter set (defaults filled in) for a training job, or BadRequestError.

    Parameters another technique uses are refused rather than silently ignored.
    """
    spec = resolve_base_model(model_name)
    if task_type not in spec.task_types:
        raise BadRequestError(
            f"{spec.name} does not support task type '{task_type}' (it supports {', '.join(spec.task_types)})",
            param="task_type",
        )
    if technique not in spec.training_techniques:
        raise BadRequestError(
            f"{spec.name} cannot be trained with {technique} "
            f"(it supports {', '.join(spec.training_techniques)})",
            param="training_technique",
        )
    applicable = {n: p for n, p in spec.parameters.items() if technique in p.techniques}
    given = dict(parameters or {})
    problems: list[tuple[str, str]] = []
    unknown = sorted(set(given) - set(applicable))
    if unknown:
        problems.append(
            (
                f"parameters.{unknown[0]}",
                f"Unknown {technique} parameter(s) for {spec.name}: {', '.join(unknown)}; "
                f"known: {', '.join(sorted(applicable))}",
            )
        )
    values: dict[str, int | float | bool] = {}
    for name, parameter in applicable.items():
        if name not in given:
            values[name] = parameter.default_for(technique)
            continue
        try:
            values[name] = _coerce(parameter, given[name])
        except _Problem as problem:
            problems.append((problem.param, problem.message))
    if not problems:
        problems = cross_parameter_problems(technique, values)
    if problems:
        # Every problem at once, each naming its field; `param` is the first.
        raise BadRequestError("; ".join(message for _, message in problems), param=problems[0][0])
    return values
