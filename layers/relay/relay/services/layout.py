"""Where control-plane records live: the one DynamoDB table's key layout, ids, and S3 prefixes.

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
removes (every version); presigned uploads are staged under `staging/<ms-id>/<ds-id>/` until
`complete` moves them there.

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
import time

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
CHECKPOINT_SK_PREFIX = "CHECKPOINT#"

_ID_BODY = re.compile(r"^[a-z0-9]{16}$")


def ordered_token(width: int) -> str:
    """`width` hex digits: the time in milliseconds (11 digits), then random ones. Records listed
    by (`created_at` in seconds, id) then come newest first even within one second."""
    random_digits = width - 11
    return f"{time.time_ns() // 1_000_000:011x}{secrets.token_hex((random_digits + 1) // 2)[:random_digits]}"


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


# Presigned uploads land here first: the bucket expires what is never completed, `complete`
# moves a verified file under the project, and an arrival for a deleted record is swept.
STAGING_PREFIX = "staging/"


def staging_prefix(project_id: str) -> str:
    return f"{STAGING_PREFIX}{project_id}/"


def staging_object_key(project_id: str, dataset_id: str, filename: str) -> str:
    return f"{staging_prefix(project_id)}{dataset_id}/{filename}"


def parse_staging_key(key: str) -> tuple[str, str] | None:
    """(project id, dataset id) of a staged upload's key, else None."""
    parts = key.split("/")
    if len(parts) != 4 or f"{parts[0]}/" != STAGING_PREFIX or not parts[3]:
        return None
    if not (is_id(parts[1], PROJECT_PREFIX) and is_id(parts[2], DATASET_PREFIX)):
        return None
    return parts[1], parts[2]


def training_sk(job_id: str) -> str:
    return f"{TRAINING_SK_PREFIX}{job_id}"


def checkpoint_sk(job_id: str, number: int) -> str:
    return f"{CHECKPOINT_SK_PREFIX}{job_id}#{number:06d}"


def training_prefix(project_id: str, job_id: str) -> str:
    """Where a job's data splits, checkpoints and test results live in the bucket."""
    return f"{project_prefix(project_id)}training/{job_id}/"


def item_key(pk: str, sk: str) -> dict[str, dict[str, str]]:
    """The table's primary key as DynamoDB attribute values."""
    return {"pk": {"S": pk}, "sk": {"S": sk}}
