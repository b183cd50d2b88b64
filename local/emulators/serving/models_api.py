"""The model and endpoint configuration operations of the hosting emulator, with AWS's validation."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

from local.emulators.serving import api, artifacts, images
from local.emulators.serving.hosting import Hosting, Record, arn


class ModelsApi:
    def __init__(self, hosting: Hosting) -> None:
        self.hosting = hosting
        self.operations: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "CreateModel": self.create_model,
            "DescribeModel": self.describe_model,
            "DeleteModel": self.delete_model,
            "ListModels": self.list_models,
            "CreateEndpointConfig": self.create_config,
            "DescribeEndpointConfig": self.describe_config,
            "DeleteEndpointConfig": self.delete_config,
            "ListEndpointConfigs": self.list_configs,
        }

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
        model = self.model(api.required(body, "ModelName"))
        described = {k: v for k, v in model.request.items() if k not in ("ModelName", "Tags")}
        return {
            **described,
            "ModelName": model.name,
            "ModelArn": arn("model", model.name),
            "CreationTime": model.created,
            "EnableNetworkIsolation": bool(model.request.get("EnableNetworkIsolation")),
        }

    def delete_model(self, body: dict[str, Any]) -> dict[str, Any]:
        del self.hosting.models[self.model(api.required(body, "ModelName")).name]
        return {}

    def list_models(self, body: dict[str, Any]) -> dict[str, Any]:
        return api.listing(
            body,
            self.hosting.models.values(),
            "Models",
            lambda r: {"ModelName": r.name, "ModelArn": arn("model", r.name), "CreationTime": r.created},
        )

    def model(self, name: str) -> Record:
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
                self.model(str(variant["ModelName"]))
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
        config = self.config(api.required(body, "EndpointConfigName"))
        described = {k: v for k, v in config.request.items() if k != "Tags"}
        return {
            **described,
            "EndpointConfigArn": arn("endpoint-config", config.name),
            "CreationTime": config.created,
        }

    def delete_config(self, body: dict[str, Any]) -> dict[str, Any]:
        del self.hosting.configs[self.config(api.required(body, "EndpointConfigName")).name]
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

    def config(self, name: str) -> Record:
        if name not in self.hosting.configs:
            raise api.not_found("endpoint-config", name)
        return self.hosting.configs[name]
