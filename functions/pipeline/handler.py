"""Pipeline worker: the training state machine's task steps and dataset verification, by `step`.

`relay_training` (the training code's metric-line and checkpoint contract, standard library only)
ships beside this file; the rest comes from the relay layer.
"""

from typing import Any

from relay.backends import aws
from relay.backends.s3 import S3ObjectStore
from relay.observability import get_tracer, logger
from relay.pipeline.context import Pipeline
from relay.pipeline.steps import run, steps
from relay.services.control.datasets import DatasetService
from relay.services.control.dynamodb import DynamoDBDatasetRepository, DynamoDBProjectRepository
from relay.services.control.projects import ProjectService
from relay.services.training.repository import DynamoDBTrainingJobRepository
from relay.settings import get_settings
from relay_training.metrics import parse_metric_line

tracer = get_tracer()
_settings = get_settings()
_datasets = DynamoDBDatasetRepository(aws.client("dynamodb"), _settings.table_name)
_objects = S3ObjectStore(aws.client("s3"), _settings.bucket_name)
_pipeline = Pipeline(
    jobs=DynamoDBTrainingJobRepository(aws.client("dynamodb"), _settings.table_name),
    datasets=_datasets,
    s3=aws.client("s3"),
    sagemaker=aws.client("sagemaker"),
    logs=aws.client("logs"),
    settings=_settings,
    region=str(aws.client("sagemaker").meta.region_name),
    dataset_service=DatasetService(
        ProjectService(DynamoDBProjectRepository(aws.client("dynamodb"), _settings.table_name), _objects),
        _datasets,
        _objects,
        _settings,
    ),
)
_steps = steps(parse_metric_line)


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return run(_steps, _pipeline, event)
