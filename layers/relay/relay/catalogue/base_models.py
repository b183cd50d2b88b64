"""The base-model catalogue (`base_models.json`): what Relay can fine-tune, on what, with which knobs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from relay.protocol.models import Model

# `owned_by` of catalogue entries in /v1/models: base models to fine-tune, not callable models.
CATALOGUE_OWNER = "relay"

TASK_TYPES = ("text-generation", "classification", "embedding", "regression")
TECHNIQUES = ("SFT", "GRPO")


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    type: str  # integer | number | boolean
    default: int | float | bool
    techniques: tuple[str, ...]
    minimum: float | None = None
    maximum: float | None = None
    # A technique whose rules need another default (GRPO: a batch holding whole groups).
    technique_defaults: tuple[tuple[str, int | float | bool], ...] = ()

    def default_for(self, technique: str) -> int | float | bool:
        return dict(self.technique_defaults).get(technique, self.default)

    def bounds(self) -> dict[str, Any]:
        """The default, the inclusive range and the techniques, as the README documents them."""
        out: dict[str, Any] = {"type": self.type, "default": self.default}
        for key, value in (("minimum", self.minimum), ("maximum", self.maximum)):
            if value is not None:
                out[key] = value
        out.update({f"default_{t}": v for t, v in self.technique_defaults})
        out["techniques"] = list(self.techniques)
        return out


@dataclass(frozen=True)
class ServingSpec:
    """How an engine hosts the model: its instance type, the approximate on-demand price
    (us-east-1, USD per instance-hour, for the README and the engine detail), and the pinned
    container image per task type (with `{region}` to fill in)."""

    instance_type: str
    hourly_usd: float
    images: dict[str, str]

    def image_for(self, task_type: str, region: str) -> str:
        return self.images[task_type].replace("{region}", region)


@dataclass(frozen=True)
class BaseModelSpec:
    name: str
    type: str
    hf_model_id: str
    task_types: tuple[str, ...]
    training_techniques: tuple[str, ...]
    default_instance_type: str
    instance_types: tuple[str, ...]
    training_image: str  # with `{region}` to fill in
    parameters: dict[str, ParameterSpec]
    support_serverless: bool
    created: int
    serving: ServingSpec
    description: str = ""

    def image_for(self, region: str) -> str:
        return self.training_image.replace("{region}", region)

    def parameter_template(self) -> dict[str, Any]:
        """Every tunable parameter with its default (the spec's `parameter_template`)."""
        return {name: spec.default for name, spec in self.parameters.items()}

    def to_model(self) -> Model:
        return Model(
            id=self.name,
            created=self.created,
            owned_by=CATALOGUE_OWNER,
            name=self.name,
            type=self.type,  # type: ignore[arg-type]
            parameter_template=self.parameter_template(),
            support_serverless=self.support_serverless,
        )


def _parameters(raw: dict[str, Any], overrides: dict[str, Any]) -> dict[str, ParameterSpec]:
    out: dict[str, ParameterSpec] = {}
    for name, spec in raw.items():
        merged = {**spec, **overrides.get(name, {})}
        out[name] = ParameterSpec(
            name=name,
            type=merged["type"],
            default=merged["default"],
            techniques=tuple(merged["techniques"]),
            minimum=merged.get("minimum"),
            maximum=merged.get("maximum"),
            technique_defaults=tuple(sorted(merged.get("technique_defaults", {}).items())),
        )
    unknown = set(overrides) - set(raw)
    if unknown:
        raise ValueError(f"overrides for unknown parameters: {sorted(unknown)}")
    return out


def _serving(name: str, entry: dict[str, Any], document: dict[str, Any]) -> ServingSpec:
    raw = entry["serving"]
    images = document["serving_images"][raw["images"]]
    missing = [task for task in entry["task_types"] if task not in images]
    if missing:
        raise ValueError(f"{name}: no serving image for task types {missing}")
    return ServingSpec(
        instance_type=raw["instance_type"],
        hourly_usd=float(raw["hourly_usd"]),
        images={task: images[task] for task in entry["task_types"]},
    )


def parse_catalogue(document: dict[str, Any]) -> dict[str, BaseModelSpec]:
    """The catalogue keyed by model name; ValueError names what is malformed."""
    models: dict[str, BaseModelSpec] = {}
    for entry in document["models"]:
        name = entry["name"]
        if name in models:
            raise ValueError(f"base model {name} is listed twice")
        if not set(entry["task_types"]) <= set(TASK_TYPES):
            raise ValueError(f"{name}: unknown task types {entry['task_types']}")
        if not set(entry["training_techniques"]) <= set(TECHNIQUES):
            raise ValueError(f"{name}: unknown techniques {entry['training_techniques']}")
        if entry["default_instance_type"] not in entry["instance_types"]:
            raise ValueError(f"{name}: the default instance type is not among its instance types")
        models[name] = BaseModelSpec(
            name=name,
            type=entry["type"],
            hf_model_id=entry["hf_model_id"],
            task_types=tuple(entry["task_types"]),
            training_techniques=tuple(entry["training_techniques"]),
            default_instance_type=entry["default_instance_type"],
            instance_types=tuple(entry["instance_types"]),
            training_image=document["images"][entry["image"]],
            parameters=_parameters(
                document["parameter_sets"][entry["parameter_set"]], entry.get("parameter_overrides", {})
            ),
            support_serverless=bool(entry["support_serverless"]),
            created=int(entry["created"]),
            serving=_serving(name, entry, document),
            description=entry.get("description", ""),
        )
    return models


@lru_cache(maxsize=1)
def catalogue() -> dict[str, BaseModelSpec]:
    """The shipped catalogue, read once per process."""
    text = resources.files("relay.catalogue").joinpath("base_models.json").read_text(encoding="utf-8")
    return parse_catalogue(json.loads(text))


def base_model(name: str) -> BaseModelSpec | None:
    return catalogue().get(name)


def catalogue_models() -> list[Model]:
    """The catalogue as `/v1/models` items: a `ModelDirectory` extra source."""
    return [spec.to_model() for spec in catalogue().values()]
