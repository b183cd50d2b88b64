"""Base models Relay can fine-tune, from `base_models.json`, and the checks training requests pass."""

from relay.catalogue.base_models import (
    TASK_TYPES,
    TECHNIQUES,
    BaseModelSpec,
    ParameterSpec,
    base_model,
    catalogue,
    catalogue_models,
)
from relay.catalogue.hyperparameters import resolve_base_model, validate_training_parameters

__all__ = [
    "TASK_TYPES",
    "TECHNIQUES",
    "BaseModelSpec",
    "ParameterSpec",
    "base_model",
    "catalogue",
    "catalogue_models",
    "resolve_base_model",
    "validate_training_parameters",
]
