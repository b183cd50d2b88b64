"""What every pipeline step works with: the job repository, AWS adapters and clients, settings, S3 layout.

`relay.services.container.Services.pipeline` builds it; the worker handler only dispatches.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from relay.backends.s3 import ObjectStore
from relay.backends.sagemaker.control import SageMakerControl
from relay.services.layout import training_prefix
from relay.services.training.models import TrainingJob
from relay.services.training.repository import TrainingJobRepository
from relay.services.training.validation import DatasetLookup
from relay.settings import Settings

if TYPE_CHECKING:
    from relay.services.datasets.verification import DatasetVerifier

# SageMaker writes each training job's container output to this log group, one stream per
# instance named `<job name>/algo-<n>-<epoch>`.
TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
# Where the training container looks for data, the base model and checkpoints (SageMaker's layout).
CONTAINER_CHECKPOINT_DIR = "/opt/ml/checkpoints"
# The source bundle of `training/` (train.py + relay_training + relay.evaluation), uploaded at deploy.
TRAINING_CODE_KEY = "training-code/sourcedir.tar.gz"
BASE_MODELS_PREFIX = "base-models/"
PREDICTIONS_FILE = "predictions.jsonl"


class PipelineStepError(RuntimeError):
    """A step cannot go on; the state machine's Catch records the message as the failure reason."""


@dataclass(frozen=True)
class JobPaths:
    bucket: str
    project_id: str
    job_id: str

    @property
    def prefix(self) -> str:
        return training_prefix(self.project_id, self.job_id)

    def key(self, *parts: str) -> str:
        return self.prefix + "/".join(parts)

    def uri(self, *parts: str) -> str:
        return f"s3://{self.bucket}/{self.key(*parts)}"

    @property
    def checkpoints_key(self) -> str:
        return self.key("checkpoints/")

    @property
    def checkpoints_uri(self) -> str:
        return self.uri("checkpoints/")


@dataclass
class Pipeline:
    jobs: TrainingJobRepository
    datasets: DatasetLookup
    objects: ObjectStore
    sagemaker: SageMakerControl
    logs: Any
    settings: Settings
    clock: Callable[[], float] = field(default=time.time)
    # Verifies large presigned dataset uploads that the control plane hands off (`verify_dataset`).
    dataset_verifier: DatasetVerifier | None = None

    def now(self) -> int:
        return int(self.clock())

    @property
    def region(self) -> str:
        return self.sagemaker.region

    def paths(self, event: dict[str, Any]) -> JobPaths:
        return JobPaths(self.settings.bucket_name, str(event["project_id"]), str(event["job_id"]))

    def job(self, event: dict[str, Any]) -> TrainingJob:
        job = self.jobs.get(str(event["project_id"]), str(event["job_id"]))
        if job is None:
            raise PipelineStepError(f"training job {event['job_id']} no longer exists")
        return job

    def read(self, key: str) -> bytes:
        return self.objects.read(key)

    def write(self, key: str, body: bytes, content_type: str = "application/x-ndjson") -> None:
        self.objects.write(key, body, content_type=content_type)

    def keys(self, prefix: str) -> list[str]:
        return self.objects.keys(prefix)
