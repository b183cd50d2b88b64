"""What a deployment request asks to serve: a training job's checkpoint, or a base model (checkpoint 0).

Every check that can refuse a request runs here, before anything is written: an unknown job
is 404, an unfinished one or a checkpoint it does not have is 400, each naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass

from relay.catalogue import BaseModelSpec, base_model
from relay.errors import BadRequestError, NotFoundError
from relay.services.deployments.models import CheckpointSource, TrainingJobView

TRAINING_JOB_PREFIX = "tr-"
# A job's checkpoints are registered when it succeeds; before that they may still change.
FINISHED = "Success"
# Base model types the catalogue lists -> the task a bare base model serves. A classification
# base model has no trained head (no labels), so it cannot be deployed without training.
BASE_TASKS = {"chat": "text-generation", "embeddings": "embedding"}


@dataclass(frozen=True)
class DeploySource:
    base_model: str
    task_type: str
    checkpoint: int
    training_id: str | None
    # s3:// prefix of the weights: the checkpoint folder, or the staged base model.
    model_data_url: str
    adapter: bool = False
    labels: tuple[str, ...] = ()

    @property
    def spec(self) -> BaseModelSpec:
        found = base_model(self.base_model)
        if found is None:  # resolved from the catalogue, so only a catalogue change gets here
            raise BadRequestError(f"Base model {self.base_model} is no longer in the catalogue")
        return found


def base_model_prefix(bucket: str, name: str) -> str:
    """Where an operator stages a base model's weights (the training pipeline reads the same)."""
    return f"s3://{bucket}/base-models/{name}/"


class SourceResolver:
    def __init__(self, checkpoints: CheckpointSource, bucket: str) -> None:
        self._checkpoints = checkpoints
        self._bucket = bucket

    def resolve(self, project_id: str, job_or_model: str, checkpoint: int, *, param: str) -> DeploySource:
        """`param` names the request's job field (`training_job_id` or `training_id`)."""
        if checkpoint == 0 and not job_or_model.startswith(TRAINING_JOB_PREFIX):
            return self._base(job_or_model, param)
        job = self._checkpoints.training_job(project_id, job_or_model)
        if job is None:
            raise NotFoundError(f"No training job with id '{job_or_model}' in this project", param=param)
        if checkpoint == 0:
            source = self._base(job.base_model, param)
            if source.task_type != job.task_type:
                raise BadRequestError(
                    f"checkpoint: 0 deploys the base model, which serves {source.task_type}, not the "
                    f"job's {job.task_type}; name one of the job's checkpoints",
                    param="checkpoint",
                )
            return DeploySource(**{**source.__dict__, "training_id": job.id})
        return self._checkpoint(job, checkpoint, param)

    def _base(self, name: str, param: str) -> DeploySource:
        spec = base_model(name)
        if spec is None:
            raise NotFoundError(
                f"'{name}' is neither a training job of this project nor a base model (GET /v1/models)",
                param=param,
            )
        task = BASE_TASKS.get(spec.type)
        if task is None or task not in spec.task_types:
            raise BadRequestError(
                f"{name} is a {spec.type} base model without a trained head; deploy a checkpoint of a "
                "training job instead",
                param="checkpoint",
            )
        return DeploySource(
            base_model=spec.name,
            task_type=task,
            checkpoint=0,
            training_id=None,
            model_data_url=base_model_prefix(self._bucket, spec.name),
        )

    def _checkpoint(self, job: TrainingJobView, number: int, param: str) -> DeploySource:
        if job.status != FINISHED:
            raise BadRequestError(
                f"Training job {job.id} is {job.status}; only a job that finished with Success can be deployed",
                param=param,
            )
        found = next((c for c in job.checkpoints if c.number == number), None)
        if found is None:
            have = ", ".join(str(c.number) for c in job.checkpoints) or "none"
            raise BadRequestError(
                f"checkpoint: training job {job.id} has no checkpoint {number} (it has: {have})",
                param="checkpoint",
            )
        facts = self._checkpoints.facts(found)
        # A classifier answers with the job's label names; regression heads have none.
        if job.task_type == "classification" and not facts.labels:
            raise BadRequestError(
                f"checkpoint: checkpoint {number} of {job.id} has no labels; it cannot serve classification",
                param="checkpoint",
            )
        return DeploySource(
            base_model=job.base_model,
            task_type=job.task_type,
            checkpoint=number,
            training_id=job.id,
            model_data_url=found.model_data_url,
            adapter=facts.adapter,
            labels=facts.labels,
        )
