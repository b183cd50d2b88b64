"""Emulated SageMaker hosting API: models, endpoint configs, endpoints and inference components.

What it emulates: the control calls (Create/Describe/Delete/List for each resource, UpdateEndpoint,
UpdateInferenceComponent, UpdateInferenceComponentRuntimeConfig) with AWS's request validation and
messages (`ValidationException` "Could not find …" / "Cannot create already existing …"; SageMaker's
hosting API has no ResourceNotFound), asynchronous statuses, copy counts (0 only on an endpoint whose
managed instance scaling minimum is 0), and real serving: a component with copies — or a single-model
endpoint — whose image is a serving container (see `serving/images.py` for the ECR repository names)
gets a process in `.venv-train` that loads its `tiny-local` checkpoint from (moto) S3 on CPU.
`sagemaker_runtime` forwards invocations to it and publishes `Invocations` to CloudWatch.

Model data (`serving/artifacts.py`): `ModelDataSource.S3DataSource` as an uncompressed `S3Prefix`
ending in `/` (a checkpoint folder) or an `S3Object` with `Gzip`, `ModelDataUrl` (a .tar.gz), or an
`s3://` OPTION_MODEL_ID / HF_MODEL_ID; an adapter component's `Container.ArtifactUrl` (a prefix, or a
.tar.gz). Container variables honoured (`serving/staging.py`): RELAY_TASK_TYPE (must match the
image's kind), RELAY_LABELS (a classifier's labels when the checkpoint has no labels.json),
RELAY_BASE_MODEL_URL (the base weights a LoRA checkpoint deployed as its own model merges into),
SERVED_MODEL_NAME / OPTION_SERVED_MODEL_NAME (the `model` answers name; default the component).

Timing: endpoints are Creating/Updating/Deleting for RELAY_LOCAL_HOSTING_DELAY_SECONDS (default
0.5 s); a component is Creating (or Updating from 0 copies) until its container has loaded — about
4-6 s for tiny-local, mostly Python importing torch; a copy count change on a loaded component, and
a delete, take the delay.

What it does not: instances, quotas and placement (any instance type is accepted; one process serves
all copies of a component), more than one production variant, serverless or async inference,
shadow variants, data capture, rolling deployment policies, tags, ECR image existence, and models
bigger than a CPU can load. Images it does not serve still make valid models: a single-model
endpoint on one is InService and answered by the canned flavour its name names (the
`relay-emu-*` endpoints); an inference component on one fails with the reason.
Every other SageMaker operation goes on to the training emulator, and from there to moto.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import boto3

from local.emulators import sagemaker_runtime, sagemaker_training
from local.emulators.server import Request, Response, Router, json_call, json_error
from local.emulators.serving import api, components_api, models_api, process
from local.emulators.serving.hosting import Endpoint, Hosting, arn, run
from local.emulators.serving.metrics import Metrics

_metrics: list[Metrics] = []


class SageMakerHostingEmulator:
    def __init__(self, hosting: Hosting, fallback: Callable[[Request], Response]) -> None:
        self.hosting, self.fallback = hosting, fallback
        components = components_api.ComponentsApi(hosting)
        self.models = models_api.ModelsApi(hosting)
        self.operations: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            **self.models.operations,
            "CreateEndpoint": self.create_endpoint,
            "DescribeEndpoint": self.describe_endpoint,
            "UpdateEndpoint": self.update_endpoint,
            "DeleteEndpoint": self.delete_endpoint,
            "ListEndpoints": self.list_endpoints,
            **components.operations,
        }

    def handle(self, request: Request) -> Response:
        call = json_call(request, "SageMaker.", self.operations)
        if call is None:
            return self.fallback(request)
        if isinstance(call, Response):
            return call
        operation, body = call
        try:
            with self.hosting.lock:
                return Response.json(operation(body), headers={"Content-Type": "application/x-amz-json-1.1"})
        except api.ApiError as exc:
            return json_error(exc.code, exc.message, exc.status)

    # ------------------------------------------------------------- endpoints

    def create_endpoint(self, body: dict[str, Any]) -> dict[str, Any]:
        name = api.name(body, "EndpointName")
        if name in self.hosting.endpoints:
            raise api.already_exists("endpoint", name)
        config = self.models.config(str(api.required(body, "EndpointConfigName")))
        endpoint = Endpoint(name, dict(body), config=dict(config.request))
        self.hosting.endpoints[name] = endpoint
        run(self.hosting.bring_up_endpoint, endpoint)
        return {"EndpointArn": arn("endpoint", name)}

    def update_endpoint(self, body: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint(api.required(body, "EndpointName"))
        config = self.models.config(str(api.required(body, "EndpointConfigName")))
        if endpoint.status != "InService":
            raise api.invalid(f'Cannot update in-progress endpoint "{arn("endpoint", endpoint.name)}".')
        if endpoint.component_based != (not config.request["ProductionVariants"][0].get("ModelName")):
            raise api.invalid("An endpoint cannot switch between inference components and a model.")
        replica, endpoint.replica = endpoint.replica, None
        endpoint.request["EndpointConfigName"] = config.name
        endpoint.config, endpoint.status = dict(config.request), "Updating"
        if replica is not None:
            run(replica.stop)
        run(self.hosting.bring_up_endpoint, endpoint)
        return {"EndpointArn": arn("endpoint", endpoint.name)}

    def describe_endpoint(self, body: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint(api.required(body, "EndpointName"))
        variant = endpoint.variant
        copies = sum(
            self.hosting.copies(c)[1]
            for c in self.hosting.components.values()
            if c.endpoint == endpoint.name and c.base is None
        )
        initial = int(variant.get("InitialInstanceCount", 1))
        instances = initial if not endpoint.component_based or copies or not endpoint.scales_to_zero else 0
        summary: dict[str, Any] = {
            "VariantName": variant["VariantName"],
            "CurrentWeight": float(variant.get("InitialVariantWeight", 1.0)),
            "DesiredWeight": float(variant.get("InitialVariantWeight", 1.0)),
            "CurrentInstanceCount": instances if endpoint.status == "InService" else 0,
            "DesiredInstanceCount": instances,
        }
        for field in ("ManagedInstanceScaling", "RoutingConfig"):
            if variant.get(field):
                summary[field] = variant[field]
        if not endpoint.component_based:
            image = self.hosting.container({"ModelName": variant["ModelName"]})[0]
            summary["DeployedImages"] = [
                {"SpecifiedImage": image, "ResolvedImage": image, "ResolutionTime": endpoint.created}
            ]
        described: dict[str, Any] = {
            "EndpointName": endpoint.name,
            "EndpointArn": arn("endpoint", endpoint.name),
            "EndpointConfigName": endpoint.request["EndpointConfigName"],
            "ProductionVariants": [summary],
            "EndpointStatus": endpoint.status,
            "CreationTime": endpoint.created,
            "LastModifiedTime": endpoint.modified,
        }
        if endpoint.failure:
            described["FailureReason"] = endpoint.failure
        return described

    def delete_endpoint(self, body: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint(api.required(body, "EndpointName"))
        hosted = sorted(c.name for c in self.hosting.components.values() if c.endpoint == endpoint.name)
        if hosted:
            raise api.invalid(
                f"Endpoint {endpoint.name} still hosts inference components ({', '.join(hosted)}); "
                "delete them before deleting the endpoint."
            )
        if endpoint.status != "Deleting":
            endpoint.status = "Deleting"
            run(self.hosting.delete_endpoint, endpoint)
        return {}

    def list_endpoints(self, body: dict[str, Any]) -> dict[str, Any]:
        return api.listing(
            body,
            self.hosting.endpoints.values(),
            "Endpoints",
            lambda e: {
                "EndpointName": e.name,
                "EndpointArn": arn("endpoint", e.name),
                "CreationTime": e.created,
                "LastModifiedTime": e.modified,
                "EndpointStatus": e.status,
            },
            status=lambda e: e.status,
        )

    def _endpoint(self, name: str) -> Endpoint:
        if name not in self.hosting.endpoints:
            raise api.not_found("endpoint", name)
        return self.hosting.endpoints[name]


def shutdown() -> None:
    """Stop every serving process (the stack's stop); the records go with the stack."""
    process.stop_all()


def metrics() -> Metrics:
    """The invocation metrics publisher of the stack started last (tests flush it)."""
    return _metrics[-1]


def register(router: Router) -> None:
    """The hosting API in front of the training emulator (which forwards the rest to moto), and the
    runtime routes that reach what it serves."""
    delay = float(os.environ.get("RELAY_LOCAL_HOSTING_DELAY_SECONDS", "0.5"))
    # One S3 client, made on first use: the stack sets the endpoint variables after registering.
    hosting = Hosting(functools.cache(lambda: boto3.client("s3")), delay)
    emulator = SageMakerHostingEmulator(hosting, sagemaker_training.SageMakerTrainingEmulator().handle)
    router.add("POST", "/", emulator.handle)
    _metrics.append(Metrics())
    sagemaker_runtime.register(router, hosting, _metrics[-1])
