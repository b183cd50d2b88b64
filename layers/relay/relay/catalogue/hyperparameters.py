"""Checks a training request against the catalogue: the model exists, supports the task and technique,
and every hyperparameter is known, of the right type and within its bounds."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from relay.catalogue.base_models import BaseModelSpec, ParameterSpec, base_model
from relay.errors import BadRequestError


def _coerce(spec: ParameterSpec, value: Any) -> int | float | bool:
    param = f"parameters.{spec.name}"
    if spec.type == "boolean":
        if not isinstance(value, bool):
            raise BadRequestError(f"{param} must be true or false", param=param)
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadRequestError(f"{param} must be a number", param=param)
    number: int | float = value
    if spec.type == "integer":
        if float(value) != int(value):
            raise BadRequestError(f"{param} must be a whole number", param=param)
        number = int(value)
    if spec.minimum is not None and number < spec.minimum:
        raise BadRequestError(f"{param} must be at least {spec.minimum:g}", param=param)
    if spec.maximum is not None and number > spec.maximum:
        raise BadRequestError(f"{param} must be at most {spec.maximum:g}", param=param)
    return number


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
    unknown = sorted(set(given) - set(applicable))
    if unknown:
        raise BadRequestError(
            f"Unknown {technique} parameter(s) for {spec.name}: {', '.join(unknown)}; "
            f"known: {', '.join(sorted(applicable))}",
            param=f"parameters.{unknown[0]}",
        )
    return {name: _coerce(p, given[name]) if name in given else p.default for name, p in applicable.items()}
