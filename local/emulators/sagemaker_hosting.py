"""Emulated SageMaker hosting API: models, endpoint configs, endpoints and inference components.

What it emulates: the control calls (Create/Describe/Delete/List for each resource, UpdateEndpoint,
UpdateInferenceComponent, UpdateInferenceComponentRuntimeConfig) with AWS's request validation and
messages (`ValidationException` "Could not find …" / "Cannot create already existing …"; SageMaker's
hosting API has no ResourceNotFound), asynchronous statuses, copy counts (0 only on an endpoint whose
managed instance scaling minimum is 0), and real serving: a component with copies — or a single-model
endpoint — whose image is a serving container (see `serving/images.py` for the ECR repository names)
gets a process in `.venv-train` that loads its `tiny-local` checkpoint from (moto) S3 on CPU.
`sagemaker_runtime` forwards invocations to it and publishes `Invocations` to CloudWatch.

Timing: endpoints are Creating/Deleting for RELAY_LOCAL_HOSTING_DELAY_SECONDS (default 0.5 s); a
component is Creating until its container has loaded (a few seconds for tiny-local).

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
import math
import os
from collections.abc import Callable
from typing import Any

import boto3

from local.emulators import sagemaker_runtime, sagemaker_training
from local.emulators.server import Request, Response, Router
from local.emulators.serving import api, artifacts, components_api, images, process
from local.emulators.serving.hosting import Endpoint, Hosting, Record, arn, run
from local.emulators.serving.metrics import Metrics

_metrics: list[Metrics] = []


class SageMakerHostingEmulator:
    def __init__(self, hosting: Hosting, fallback: Callable[[Request], Response]) -> None:
        self.hosting, self.fallback = hosting, fallback
        components = components_api.ComponentsApi(hosting)
        self.operations: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "CreateModel": self.create_model,
            "DescribeModel": self.describe_model,
            "DeleteModel": self.delete_model,
            "ListModels": self.list_models,
            "CreateEndpointConfig": self.create_config,
            "DescribeEndpointConfig": self.describe_config,
            "DeleteEndpointConfig": self.delete_config,
            "ListEndpointConfigs": self.list_configs,
            "CreateEndpoint": self.create_endpoint,
            "DescribeEndpoint": self.describe_endpoint,
            "UpdateEndpoint": self.update_endpoint,
            "DeleteEndpoint": self.delete_endpoint,
            "ListEndpoints": self.list_endpoints,
            **components.operations,
        }

    def handle(self, request: Request) -> Response:
        target = request.headers.get("x-amz-target", "")
        operation = (
            self.operations.get(target.removeprefix("SageMaker."))
            if target.startswith("SageMaker.")
            else None
        )
        if operation is None:
            return self.fallback(request)
        try:
            body = request.json()
        except ValueError:
            return api.error("SerializationException", "The request body is not JSON")
        try:
            with self.hosting.lock:
                return Response.json(operation(body), headers={"Content-Type": "application/x-amz-json-1.1"})
        except api.ApiError as exc:
            return api.error(exc.code, exc.message, exc.status)

    # ------------------------------------------------------------- models

    def create_model(self, body: dict[str, Any]) -> dict[str, Any]:
        name = api.name(body, "ModelName")
        if name in self.hosting.models:
            raise api.already_exists("model", name)
        containers = (
            [body["PrimaryContainer"]] if body.get("PrimaryContainer") else list(body.get("Containers") or [])
        )
        if not containers:
            raise api.invalid("Either PrimaryContainer or Containers must be specified.")
        for container in containers:
            self._check_container(container, str(body.get("ExecutionRoleArn") or ""))
        self.hosting.models[name] = Record(name, dict(body))
        return {"ModelArn": arn("model", name)}

    def _check_container(self, container: dict[str, Any], role: str) -> None:
        image = str(api.required(container, "Image"))
        if not images.is_valid_image(image):
            raise api.invalid(
                f"Image {image} is not a valid ECR image URI "
                "(<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:<tag>|@sha256:<digest>])."
            )
        source = (container.get("ModelDataSource") or {}).get("S3DataSource")
        if source:
            uri, kind = str(api.required(source, "S3Uri")), source.get("S3DataType")
            compression = source.get("CompressionType")
            if kind not in ("S3Prefix", "S3Object") or compression not in ("None", "Gzip"):
                raise api.invalid("S3DataType must be S3Prefix or S3Object and CompressionType None or Gzip.")
            if kind == "S3Prefix" and (compression != "None" or not uri.endswith("/")):
                raise api.invalid(
                    "An S3Prefix model data source must be uncompressed (None) and end with '/'."
                )
        data = artifacts.model_data(container, None)
        if data is None:
            return
        if not data.uri.startswith("s3://"):
            raise api.invalid(f"Model data URL {data.uri} must be an s3:// URL.")
        if not artifacts.exists(self.hosting.s3(), data):
            raise api.invalid(
                f'Could not access model data at {data.uri}. Please ensure that the role "{role}" exists and that '
                'its trust relationship policy allows the action "sts:AssumeRole" for the service principal '
                '"sagemaker.amazonaws.com". Also ensure that the role has "s3:GetObject" permissions and that '
                f"the object is located in {os.environ.get('AWS_DEFAULT_REGION', 'us-east-1')}."
            )

    def describe_model(self, body: dict[str, Any]) -> dict[str, Any]:
        model = self._model(api.required(body, "ModelName"))
        described = {k: v for k, v in model.request.items() if k not in ("ModelName", "Tags")}
        return {
            **described,
            "ModelName": model.name,
            "ModelArn": arn("model", model.name),
            "CreationTime": model.created,
            "EnableNetworkIsolation": bool(model.request.get("EnableNetworkIsolation")),
        }

    def delete_model(self, body: dict[str, Any]) -> dict[str, Any]:
        del self.hosting.models[self._model(api.required(body, "ModelName")).name]
        return {}

    def list_models(self, body: dict[str, Any]) -> dict[str, Any]:
        return api.listing(
            body,
            self.hosting.models.values(),
            "Models",
            lambda r: {"ModelName": r.name, "ModelArn": arn("model", r.name), "CreationTime": r.created},
        )

    def _model(self, name: str) -> Record:
        if name not in self.hosting.models:
            raise api.not_found("model", name)
        return self.hosting.models[name]

    # ------------------------------------------------------------- endpoint configs

    def create_config(self, body: dict[str, Any]) -> dict[str, Any]:
        name = api.name(body, "EndpointConfigName")
        if name in self.hosting.configs:
            raise api.already_exists("endpoint-config", name)
        variants = api.required(body, "ProductionVariants")
        if len(variants) != 1:
            raise api.invalid(
                "The local stack hosts exactly one production variant per endpoint configuration."
            )
        for variant in variants:
            api.required(variant, "VariantName")
            if variant.get("ServerlessConfig"):
                raise api.invalid("Serverless inference is not emulated by the local stack.")
            api.required(variant, "InstanceType")
            if variant.get("ModelName"):
                self._model(str(variant["ModelName"]))
                if variant.get("ManagedInstanceScaling"):
                    raise api.invalid(
                        "ManagedInstanceScaling is only supported for inference component endpoints."
                    )
            elif not body.get("ExecutionRoleArn"):
                raise api.invalid(
                    "ExecutionRoleArn is required for an endpoint configuration without a model."
                )
            scaling = variant.get("ManagedInstanceScaling") or {}
            if float(scaling.get("MinInstanceCount", 0)) > float(scaling.get("MaxInstanceCount", math.inf)):
                raise api.invalid("MinInstanceCount must not be greater than MaxInstanceCount.")
        self.hosting.configs[name] = Record(name, dict(body))
        return {"EndpointConfigArn": arn("endpoint-config", name)}

    def describe_config(self, body: dict[str, Any]) -> dict[str, Any]:
        config = self._config(api.required(body, "EndpointConfigName"))
        described = {k: v for k, v in config.request.items() if k != "Tags"}
        return {
            **described,
            "EndpointConfigArn": arn("endpoint-config", config.name),
            "CreationTime": config.created,
        }

    def delete_config(self, body: dict[str, Any]) -> dict[str, Any]:
        del self.hosting.configs[self._config(api.required(body, "EndpointConfigName")).name]
        return {}

    def list_configs(self, body: dict[str, Any]) -> dict[str, Any]:
        return api.listing(
            body,
            self.hosting.configs.values(),
            "EndpointConfigs",
            lambda r: {
                "EndpointConfigName": r.name,
                "EndpointConfigArn": arn("endpoint-config", r.name),
                "CreationTime": r.created,
            },
        )

    def _config(self, name: str) -> Record:
        if name not in self.hosting.configs:
            raise api.not_found("endpoint-config", name)
        return self.hosting.configs[name]

    # ------------------------------------------------------------- endpoints

    def create_endpoint(self, body: dict[str, Any]) -> dict[str, Any]:
        name = api.name(body, "EndpointName")
        if name in self.hosting.endpoints:
            raise api.already_exists("endpoint", name)
        config = self._config(str(api.required(body, "EndpointConfigName")))
        endpoint = Endpoint(name, dict(body), config=dict(config.request))
        self.hosting.endpoints[name] = endpoint
        run(self.hosting.bring_up_endpoint, endpoint)
        return {"EndpointArn": arn("endpoint", name)}

    def update_endpoint(self, body: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint(api.required(body, "EndpointName"))
        config = self._config(str(api.required(body, "EndpointConfigName")))
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
