"""A container's image, environment and model data, and starting it: what SageMaker does before /ping.

The model data is downloaded where the container reads it; the checkpoint's task type
(`relay_model.json`, or `RELAY_TASK_TYPE`) must be one the image serves; a LoRA checkpoint deployed
on its own also gets its base weights (`RELAY_BASE_MODEL_URL`, else `s3://<same bucket>/base-models/
<base_model>/`, where the stack keeps base models) and is merged into them at load. A classifier's
labels are the checkpoint's `labels.json`, or `RELAY_LABELS` when it has none.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from local.emulators.serving import artifacts, images
from local.emulators.serving.process import ServingError, ServingProcess

METADATA_FILES = ("relay_model.json", "relay_checkpoint.json")
BASE_MODELS_PREFIX = "base-models/"
LABELS_FILE = "labels.json"


def container(model: Any, spec: dict[str, Any]) -> tuple[str, dict[str, str], artifacts.ModelData | None]:
    """Image, environment and model data of a model (a Record or None) under a component's own spec."""
    request = model.request if model is not None else {}
    primary = request.get("PrimaryContainer") or (request.get("Containers") or [{}])[0]
    override = spec.get("Container") or {}
    environment = {**primary.get("Environment", {}), **override.get("Environment", {})}
    image = str(override.get("Image") or primary.get("Image") or "")
    if override.get("ArtifactUrl"):
        url = str(override["ArtifactUrl"])
        return image, environment, artifacts.ModelData(url, url.endswith(".tar.gz"))
    model_id = images.first(environment, images.MODEL_ID_VARIABLES)
    return image, environment, artifacts.model_data(primary, model_id)


def start(
    s3: Any, name: str, image: str, environment: dict[str, str], data: artifacts.ModelData | None
) -> ServingProcess:
    """Stage the model data and start its container; raises ServingError with SageMaker's reason."""
    kind = images.kind_of(image)
    if kind is None:
        supported = ", ".join(sorted(images.KINDS_BY_REPOSITORY))
        raise ServingError(
            f"The local stack does not run image {image}; it serves ECR repositories {supported}"
        )
    if data is None:
        raise ServingError(
            "No model data: set ModelDataUrl, ModelDataSource, or an s3:// OPTION_MODEL_ID / HF_MODEL_ID "
            "(the local stack has no model hub access)"
        )
    workdir = Path(tempfile.mkdtemp(prefix=f"relay-serving-{name}-"))
    try:
        model_dir = artifacts.download(s3, data, workdir / "model")
        metadata = _metadata(model_dir)
        task = environment.get(images.TASK_VARIABLE) or metadata.get("task_type")
        if task and task not in images.TASKS_BY_KIND[kind]:
            raise ServingError(f"A {task} model cannot be served by {image} (a {kind} container)")
        if kind == "classifier":
            _labels_from_environment(model_dir, environment, task)
        base_dir = None
        if (model_dir / "adapter_config.json").is_file():
            bucket, _ = artifacts.split_uri(data.uri)
            base = environment.get(images.BASE_MODEL_VARIABLE) or (
                f"s3://{bucket}/{BASE_MODELS_PREFIX}{metadata.get('base_model', '')}/"
            )
            base_dir = artifacts.download(s3, artifacts.ModelData(base, False), workdir / "base")
        served = images.first(environment, images.SERVED_NAME_VARIABLES) or name
        process = ServingProcess(kind, model_dir, base_dir, served, workdir)
    except (artifacts.ArtifactError, ServingError) as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise ServingError(str(exc)) from exc
    process.start()  # removes the workdir itself when the container fails
    return process


def _labels_from_environment(model_dir: Path, environment: dict[str, str], task: str | None) -> None:
    """The checkpoint's labels.json wins; RELAY_LABELS (a JSON list) stands in when it has none."""
    given = environment.get(images.LABELS_VARIABLE)
    if not given or (model_dir / LABELS_FILE).is_file():
        return
    try:
        labels = json.loads(given)
    except ValueError as exc:
        raise ServingError(f"{images.LABELS_VARIABLE} is not a JSON list of labels: {exc}") from exc
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise ServingError(f"{images.LABELS_VARIABLE} must be a JSON list of label names")
    problem = "regression" if task == "regression" else "single_label_classification"
    (model_dir / LABELS_FILE).write_text(
        json.dumps({"problem_type": problem, "labels": labels}), encoding="utf-8"
    )


def _metadata(model_dir: Path) -> dict[str, Any]:
    for name in METADATA_FILES:
        path = model_dir / name
        if path.is_file():
            document = json.loads(path.read_text(encoding="utf-8"))
            return document if isinstance(document, dict) else {}
    return {}
