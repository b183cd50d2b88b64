"""Emulated SageMaker training API (JSON 1.1, `X-Amz-Target: SageMaker.<Operation>`).

CreateTrainingJob / DescribeTrainingJob / StopTrainingJob run real jobs on this machine's CPU with
the same training code (see `training_runner`). Every other SageMaker operation is forwarded to
moto, so one `AWS_ENDPOINT_URL_SAGEMAKER` serves the whole SageMaker API on the local stack.

GPU instance types are refused the way an account without quota is (ResourceLimitExceeded), so a
job on a large base model fails fast with a message that says why.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from local.emulators.server import Request, Response, Router, json_call, json_error
from local.emulators.training_runner import JobRunner, TrainingJob

ACCOUNT = "123456789012"
# Instance families without a GPU; "local" is SageMaker's own local-mode name.
CPU_FAMILIES = (
    "ml.m4.",
    "ml.m5.",
    "ml.m5d.",
    "ml.m6i.",
    "ml.m7i.",
    "ml.c4.",
    "ml.c5.",
    "ml.c6i.",
    "ml.c7i.",
    "ml.t3.",
    "ml.r5.",
)
NOT_FOUND = "Requested resource not found."


def is_cpu_instance(instance_type: str) -> bool:
    return instance_type == "local" or instance_type.startswith(CPU_FAMILIES)


class SageMakerTrainingEmulator:
    def __init__(self) -> None:
        self.runners: dict[str, JobRunner] = {}
        self.operations: dict[str, Callable[[dict[str, Any]], Response]] = {
            "CreateTrainingJob": self.create,
            "DescribeTrainingJob": self.describe,
            "StopTrainingJob": self.stop,
        }

    def handle(self, request: Request) -> Response:
        call = json_call(request, "SageMaker.", self.operations)
        if call is None:
            return forward_to_moto(request)
        if isinstance(call, Response):
            return call
        operation, body = call
        return operation(body)

    def create(self, body: dict[str, Any]) -> Response:
        name = str(body.get("TrainingJobName") or "")
        for field in (
            "TrainingJobName",
            "RoleArn",
            "AlgorithmSpecification",
            "OutputDataConfig",
            "ResourceConfig",
            "StoppingCondition",
        ):
            if not body.get(field):
                return json_error(
                    "ValidationException",
                    f"1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null",
                )
        if name in self.runners:
            return json_error(
                "ResourceInUse",
                f"Training job names must be unique within an AWS account and region, and a training job with this name already exists (arn:aws:sagemaker:{_region()}:{ACCOUNT}:training-job/{name})",
            )
        stopping = body["StoppingCondition"]
        if body.get("EnableManagedSpotTraining") and int(stopping.get("MaxWaitTimeInSeconds") or 0) < int(
            stopping.get("MaxRuntimeInSeconds") or 0
        ):
            return json_error(
                "ValidationException",
                "Invalid MaxWaitTimeInSeconds. It must be present and be greater than or equal to MaxRuntimeInSeconds",
            )
        instance = str(body["ResourceConfig"].get("InstanceType", ""))
        if not is_cpu_instance(instance):
            model = str(body.get("HyperParameters", {}).get("base_model", "this model")).strip('"')
            return json_error(
                "ResourceLimitExceeded",
                f"The local stack trains on CPU only and has no {instance} (GPU) capacity: {model} cannot train "
                "locally. Use a CPU base model such as tiny-local, or deploy the stack to AWS.",
            )
        runner = JobRunner(TrainingJob(name=name, request=dict(body)))
        self.runners[name] = runner
        runner.start()
        return Response.json({"TrainingJobArn": _arn(name)})

    def describe(self, body: dict[str, Any]) -> Response:
        runner = self.runners.get(str(body.get("TrainingJobName")))
        if runner is None:
            return json_error("ValidationException", NOT_FOUND)
        job, request = runner.job, runner.job.request
        with job.lock:
            described: dict[str, Any] = {
                "TrainingJobName": job.name,
                "TrainingJobArn": _arn(job.name),
                "TrainingJobStatus": job.status,
                "SecondaryStatus": job.secondary,
                "HyperParameters": request.get("HyperParameters", {}),
                "AlgorithmSpecification": request["AlgorithmSpecification"],
                "RoleArn": request["RoleArn"],
                "InputDataConfig": request.get("InputDataConfig", []),
                "OutputDataConfig": request["OutputDataConfig"],
                "ResourceConfig": request["ResourceConfig"],
                "StoppingCondition": request["StoppingCondition"],
                "CreationTime": job.created,
                "LastModifiedTime": (job.transitions[-1]["StartTime"] if job.transitions else job.created),
                "SecondaryStatusTransitions": [dict(t) for t in job.transitions],
                "EnableManagedSpotTraining": bool(request.get("EnableManagedSpotTraining")),
                "ModelArtifacts": request.get("ModelArtifacts", {"S3ModelArtifacts": ""}),
            }
            if request.get("CheckpointConfig"):
                described["CheckpointConfig"] = request["CheckpointConfig"]
            if job.failure_reason:
                described["FailureReason"] = job.failure_reason
            if job.started:
                described["TrainingStartTime"] = job.started
            if job.ended:
                described["TrainingEndTime"] = job.ended
                described["TrainingTimeInSeconds"] = int(job.ended - (job.started or job.created))
        return Response.json(described)

    def stop(self, body: dict[str, Any]) -> Response:
        runner = self.runners.get(str(body.get("TrainingJobName")))
        if runner is None:
            return json_error("ValidationException", NOT_FOUND)
        if runner.job.status != "InProgress":
            return json_error(
                "ValidationException",
                f"The request was rejected because the training job is in status {runner.job.status}.",
            )
        runner.stop()
        return Response.json({})


def _region() -> str:
    return os.environ.get("AWS_DEFAULT_REGION", "us-east-1")


def _arn(name: str) -> str:
    return f"arn:aws:sagemaker:{_region()}:{ACCOUNT}:training-job/{name}"


def forward_to_moto(request: Request) -> Response:
    """Any other SageMaker call goes to moto, which the local stack serves at AWS_ENDPOINT_URL."""
    base = os.environ.get("AWS_ENDPOINT_URL", "").rstrip("/")
    if not base:
        return json_error("InternalFailure", "AWS_ENDPOINT_URL is not set; no moto server to forward to", 500)
    headers = {k: v for k, v in request.headers.items() if k not in ("host", "content-length", "connection")}
    forwarded = urllib.request.Request(  # noqa: S310 - loopback moto
        base + request.path, data=request.body, headers=headers, method=request.method
    )
    try:
        with urllib.request.urlopen(forwarded, timeout=60) as reply:  # noqa: S310 - loopback moto
            return Response(
                reply.status,
                reply.read(),
                {"Content-Type": reply.headers.get("Content-Type", "application/x-amz-json-1.1")},
            )
    except urllib.error.HTTPError as exc:
        headers_out = {"Content-Type": exc.headers.get("Content-Type", "application/x-amz-json-1.1")}
        if exc.headers.get("x-amzn-ErrorType"):
            headers_out["x-amzn-ErrorType"] = exc.headers["x-amzn-ErrorType"]
        return Response(exc.code, exc.read(), headers_out)


def register(router: Router) -> None:
    router.add("POST", "/", SageMakerTrainingEmulator().handle)
