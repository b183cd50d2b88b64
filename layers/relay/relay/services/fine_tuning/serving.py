"""`ft:` model ids to the deployment that serves them, for the model resolver.

A fine-tuned model is served by a deployment of its training job's checkpoint (the last one, or
the one a `:ckpt-step-N` id names) in the job's project; the resolver then resolves that
deployment's name as any other model id, so deactivated ones wake up the same way.
"""

from __future__ import annotations

from typing import Protocol

from relay.errors import ModelNotFoundError, shown
from relay.services.deployments.models import Deployment
from relay.services.deployments.status import is_terminal
from relay.services.fine_tuning.models import parse_fine_tuned
from relay.services.fine_tuning.repository import FineTuningRepository
from relay.services.training import status as st
from relay.services.training.repository import TrainingJobRepository


class DeploymentList(Protocol):
    def list(self, project_id: str) -> list[Deployment]: ...


class FineTunedModels:
    def __init__(
        self, records: FineTuningRepository, jobs: TrainingJobRepository, deployments: DeploymentList
    ) -> None:
        self._records = records
        self._jobs = jobs
        self._deployments = deployments

    def deployment_name(self, model_id: str) -> str:
        """The model id of the deployment serving `model_id`; 404 saying how to deploy it if none."""
        ref = parse_fine_tuned(model_id)
        record = self._records.get(ref.owner, ref.job_id) if ref else None
        job_id = record.training_job_id if record else None
        job = self._jobs.get(record.project_id, job_id) if record and job_id else None
        if ref is None or record is None or job is None or job.status != st.SUCCESS:
            raise ModelNotFoundError(f"The model '{shown(model_id)}' does not exist", param="model")
        numbers = [c.checkpoint for c in self._jobs.checkpoints(record.project_id, job.id)]
        step = ref.step if ref.step is not None else max(numbers, default=-1)
        if step not in numbers:
            raise ModelNotFoundError(f"The model '{shown(model_id)}' does not exist", param="model")
        serving = [
            d
            for d in self._deployments.list(record.project_id)
            if d.training_id == job.id and d.checkpoint == step and not is_terminal(d.status)
        ]
        if not serving:
            raise ModelNotFoundError(
                f"The fine-tuned model '{shown(model_id)}' is not deployed. Deploy it with "
                f"`relay deploy {record.project_id} {job.id} --checkpoint {step}` or "
                f"POST /v1/projects/{record.project_id}/deployments "
                f'{{"training_job_id": "{job.id}", "checkpoint": {step}}}, then call it by this id',
                param="model",
            )
        return max(serving, key=lambda d: (d.created_at, d.id)).name
