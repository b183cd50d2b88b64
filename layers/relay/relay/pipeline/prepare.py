"""Steps before the GPU: check the job can still run, split the data, and describe the SageMaker job.

The CreateTrainingJob call itself is a state of the state machine (an AWS SDK integration), so
this Lambda never needs iam:PassRole; it only returns the request's fields.
"""

from __future__ import annotations

import json
from typing import Any

from relay.catalogue import base_model
from relay.pipeline import data
from relay.pipeline.context import (
    BASE_MODELS_PREFIX,
    CONTAINER_CHECKPOINT_DIR,
    TRAINING_CODE_KEY,
    Pipeline,
    PipelineStepError,
)
from relay.services.training import status as st
from relay.services.training.models import TrainingJob

# Resolved hyperparameters the pipeline applies itself (data preparation) rather than the trainer.
DATA_PARAMETERS = ("train_test_split_ratio", "downsample_size", "rebalance_data")
# Catalogue names that the training code spells differently.
RENAMED_PARAMETERS = {"lora_rank": "lora_r"}
VOLUME_GB = 100


def validate(pipeline: Pipeline, event: dict[str, Any]) -> dict[str, Any]:
    """The job is still Pending and its base model is still in the catalogue."""
    job = pipeline.job(event)
    if job.status != st.PENDING:
        raise PipelineStepError(f"training job {job.id} is {job.status}, not Pending")
    if base_model(job.base_model) is None:
        raise PipelineStepError(f"base model {job.base_model} is no longer in the catalogue")
    return {"poll_seconds": int(pipeline.settings.training_poll_seconds)}


def _dataset_rows(pipeline: Pipeline, project_id: str, dataset_id: str) -> list[data.Row]:
    dataset = pipeline.datasets.get(project_id, dataset_id)
    if dataset is None or dataset.state != "uploaded":
        raise PipelineStepError(f"dataset {dataset_id} is gone or no longer uploaded")
    try:
        return data.parse_rows(pipeline.read(dataset.object_key), dataset.filename)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PipelineStepError(f"dataset {dataset_id} cannot be read: {exc}") from exc


def hyperparameters(job: TrainingJob) -> dict[str, str]:
    """SageMaker's HyperParameters: every value a string (JSON-encoded), data-preparation keys left out."""
    values: dict[str, Any] = {
        RENAMED_PARAMETERS.get(name, name): value
        for name, value in job.hyper_parameters.items()
        if name not in DATA_PARAMETERS
    }
    values.update(
        task_type=job.task_type, training_technique=job.training_technique, base_model=job.base_model
    )
    if job.reward:
        values["reward"] = job.reward
    values["sagemaker_program"] = "train.py"
    return {name: value if isinstance(value, str) else json.dumps(value) for name, value in values.items()}


def prepare(pipeline: Pipeline, event: dict[str, Any]) -> dict[str, Any]:
    """Write the train/test split to S3 and return the CreateTrainingJob request (minus RoleArn)."""
    job = pipeline.job(event)
    paths = pipeline.paths(event)
    spec = base_model(job.base_model)
    if spec is None:
        raise PipelineStepError(f"base model {job.base_model} is no longer in the catalogue")
    if not job.train_dataset_id:
        raise PipelineStepError(f"training job {job.id} names no training dataset")
    train_rows = _dataset_rows(pipeline, paths.project_id, job.train_dataset_id)
    test_rows = (
        _dataset_rows(pipeline, paths.project_id, job.test_dataset_id) if job.test_dataset_id else None
    )
    try:
        train, test = data.prepare(train_rows, test_rows, job.hyper_parameters, seed=job.id)
    except data.DataPreparationError as exc:
        raise PipelineStepError(str(exc)) from exc
    pipeline.write(paths.key("data", "train", "train.jsonl"), data.to_jsonl(train))
    bucket = pipeline.settings.bucket_name
    channels = [_channel("train", paths.uri("data", "train/"))]
    if test:
        pipeline.write(paths.key("data", "test", "test.jsonl"), data.to_jsonl(test))
        channels.append(_channel("test", paths.uri("data", "test/")))
    channels.append(_channel("model", f"s3://{bucket}/{BASE_MODELS_PREFIX}{spec.name}/"))
    if job.base_model_option == "fine-tuned":
        source = paths.__class__(bucket, paths.project_id, str(job.base_fine_tuned_model))
        number = int(job.base_fine_tuned_model_checkpoint or 0)
        channels.append(_channel("adapter", source.uri("checkpoints", f"checkpoint-{number}/")))
    stopping: dict[str, int] = {"MaxRuntimeInSeconds": pipeline.settings.training_max_runtime}
    if pipeline.settings.training_spot:
        # Spot: the job may wait for capacity as long again as it may run.
        stopping["MaxWaitTimeInSeconds"] = 2 * pipeline.settings.training_max_runtime
    parameters = hyperparameters(job)
    parameters["sagemaker_submit_directory"] = json.dumps(f"s3://{bucket}/{TRAINING_CODE_KEY}")
    return {
        "TrainingJobName": job.id,
        "AlgorithmSpecification": {
            "TrainingImage": spec.image_for(pipeline.region),
            "TrainingInputMode": "File",
        },
        "HyperParameters": parameters,
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": paths.uri("output/")},
        "ResourceConfig": {
            "InstanceType": spec.default_instance_type,
            "InstanceCount": 1,
            "VolumeSizeInGB": VOLUME_GB,
        },
        "StoppingCondition": stopping,
        "EnableManagedSpotTraining": pipeline.settings.training_spot,
        # Checkpoints sync to S3 while the job runs, so a spot interruption resumes from the last one
        # and the testing step finds every checkpoint there.
        "CheckpointConfig": {"S3Uri": paths.checkpoints_uri, "LocalPath": CONTAINER_CHECKPOINT_DIR},
        "Tags": [
            {"Key": "relay:project", "Value": paths.project_id},
            {"Key": "relay:training-job", "Value": job.id},
        ],
    }


def _channel(name: str, uri: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": uri,
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        "InputMode": "File",
    }
