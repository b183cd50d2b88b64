"""Where control-plane records live in the one DynamoDB table, and the records themselves.

Key layout (every issue that writes control-plane items follows it):

| Item         | pk                   | sk                           | gsi1pk             | gsi1sk                      |
|--------------|----------------------|------------------------------|--------------------|-----------------------------|
| Project      | `PROJECT#<ms-id>`    | `PROJECT`                    | `PROJECTS`         | `<created_at:010d>#<ms-id>` |
| Dataset      | `PROJECT#<ms-id>`    | `DATASET#<ds-id>`            | -                  | -                           |
| Training job | `PROJECT#<ms-id>`    | `TRAINING#<tr-id>`           | `TRAINING#<tr-id>` | `PROJECT#<ms-id>`           |
| Checkpoint   | `PROJECT#<ms-id>`    | `CHECKPOINT#<tr-id>#<n:06d>` | -                  | -                           |
| Deployment   | `PROJECT#<ms-id>`    | `DEPLOYMENT#<dp-id>`         | `ENGINE#<engine-id>` | `DEPLOYMENT#<dp-id>`      |
| Engine       | `ENGINE#<engine-id>` | `ENGINE`                     | `ENGINES`          | `<created_at:010d>#<engine-id>` |
| API key      | `APIKEY`             | `<key-id>`                   | -                  | -                           |
| Model target | `MODEL`              | `<name/tag>`                 | -                  | -                           |

Everything a project owns shares its partition, so one Query reads the project detail and
one Query finds what a delete must check or remove. Child items carry the spec's field
names as plain attributes (`id`, `name`, `status`, `created_at`, ... and, for training
jobs, `train_dataset_id` / `test_dataset_id`); the project detail returns their summary
fields as stored. Objects in S3 live under `projects/<ms-id>/`, which a project delete
removes (every version).

Concurrency contract. A project or dataset being deleted first moves `state` from
`active`/`uploaded` to `deleting` with a conditional update, then checks its children,
then deletes (or moves back). Writers of child items must therefore put them in a
transaction with a ConditionCheck: the project item `state = active` (training jobs and
deployments), and each dataset item they use `state = uploaded` (training jobs). That
closes the window between "no running job uses this dataset" and the delete.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

PROJECT_PREFIX = "ms-"
DATASET_PREFIX = "ds-"
TRAINING_JOB_PREFIX = "tr-"
DEPLOYMENT_PREFIX = "dp-"
ENGINE_PREFIX = "engine-"

PROJECTS_INDEX = "gsi1"
PROJECTS_GSI_PK = "PROJECTS"
PROJECT_SK = "PROJECT"
DATASET_SK_PREFIX = "DATASET#"
TRAINING_SK_PREFIX = "TRAINING#"
DEPLOYMENT_SK_PREFIX = "DEPLOYMENT#"

# Spec statuses. A project cannot be deleted while any child is in a non-terminal one; a
# deactivated deployment still holds an endpoint configuration, so it counts as active.
TRAINING_TERMINAL = frozenset({"Success", "Failed", "TimedOut", "Cancelled"})
DEPLOYMENT_TERMINAL = frozenset({"Failed", "Cancelled", "Terminated", "TimedOut"})

# The spec's TrainingJobSummary and DeploymentSummary fields, as the project detail returns them.
TRAINING_JOB_SUMMARY_FIELDS = (
    "id",
    "name",
    "training_technique",
    "task_type",
    "base_model_option",
    "base_model",
    "base_fine_tuned_model",
    "base_fine_tuned_model_checkpoint",
    "train_dataset_name",
    "test_functions",
    "reward",
    "status",
    "progress",
    "created_by",
    "created_at",
    "updated_at",
)
DEPLOYMENT_SUMMARY_FIELDS = ("id", "name", "status", "created_at")

# A dataset's life: `pending` (presigned URL issued) -> `uploaded`, directly when `complete`
# verifies it in the request, or through `verifying` (handed to the pipeline worker) -> `uploaded`
# or `invalid` (object removed, record kept a day to say why). Any of them -> `deleting` -> gone.
DATASET_STATES = ("pending", "verifying", "uploaded", "invalid", "deleting")

_ID_BODY = re.compile(r"^[a-z0-9]{16}$")


def new_id(prefix: str) -> str:
    """`<prefix>` and 64 random bits in hex (a conditional put still guards against reuse)."""
    return prefix + secrets.token_hex(8)


def is_id(value: str, prefix: str) -> bool:
    return value.startswith(prefix) and bool(_ID_BODY.match(value[len(prefix) :]))


def project_pk(project_id: str) -> str:
    return f"PROJECT#{project_id}"


def dataset_sk(dataset_id: str) -> str:
    return f"{DATASET_SK_PREFIX}{dataset_id}"


def project_prefix(project_id: str) -> str:
    """The S3 prefix everything of a project lives under."""
    return f"projects/{project_id}/"


def dataset_object_key(project_id: str, dataset_id: str, filename: str) -> str:
    return f"{project_prefix(project_id)}datasets/{dataset_id}/{filename}"


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    created_at: int
    updated_at: int
    state: str = "active"  # active | deleting


@dataclass(frozen=True)
class Dataset:
    id: str
    project_id: str
    name: str
    filename: str
    object_key: str
    created_at: int
    updated_at: int
    upload_by: str
    state: str = "pending"  # see DATASET_STATES
    sha256: str = ""  # hex; declared by the client until verified
    size: int = 0
    format: str | None = None
    num_rows: int | None = None
    uploaded_at: int | None = None
    # Pending, verifying and invalid records: DynamoDB's TTL removes abandoned or refused ones.
    expires_at: int | None = None
    # Invalid records: why the worker refused the object, as DatasetRejection (protocol) spells it.
    error: dict[str, Any] | None = None

    @property
    def is_uploaded(self) -> bool:
        return self.uploaded_at is not None


@dataclass(frozen=True)
class ProjectContents:
    """Everything in a project's partition, read with one Query."""

    project: Project
    datasets: list[Dataset]
    training_jobs: list[dict[str, object]]
    deployments: list[dict[str, object]]

    def active_training_jobs(self, dataset_id: str | None = None) -> list[dict[str, object]]:
        return [
            job
            for job in self.training_jobs
            if job.get("status") not in TRAINING_TERMINAL
            and (
                dataset_id is None or dataset_id in (job.get("train_dataset_id"), job.get("test_dataset_id"))
            )
        ]

    def active_deployments(self) -> list[dict[str, object]]:
        return [d for d in self.deployments if d.get("status") not in DEPLOYMENT_TERMINAL]
