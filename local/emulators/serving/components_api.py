"""The inference component operations of the hosting emulator (shapes as botocore's model has them)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from local.emulators.serving import api
from local.emulators.serving.hosting import Component, Hosting, arn, run

# Statuses in which a component takes a new copy count or specification.
UPDATABLE = ("InService", "Failed")


class ComponentsApi:
    def __init__(self, hosting: Hosting) -> None:
        self.hosting = hosting
        self.operations: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "CreateInferenceComponent": self.create,
            "DescribeInferenceComponent": self.describe,
            "UpdateInferenceComponent": self.update,
            "UpdateInferenceComponentRuntimeConfig": self.update_runtime,
            "DeleteInferenceComponent": self.delete,
            "ListInferenceComponents": self.list,
        }

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        name = api.name(body, "InferenceComponentName")
        if name in self.hosting.components:
            raise api.already_exists("inference-component", name)
        endpoint_name = str(api.required(body, "EndpointName"))
        endpoint = self.hosting.endpoints.get(endpoint_name)
        if endpoint is None:
            raise api.not_found("endpoint", endpoint_name)
        if not endpoint.component_based:
            raise api.invalid(
                f"Endpoint {endpoint_name} hosts a model in its production variant; inference components need "
                "an endpoint configuration whose variant has no ModelName."
            )
        variant = str(body.get("VariantName") or endpoint.variant["VariantName"])
        if variant != endpoint.variant["VariantName"]:
            raise api.invalid(f"Variant {variant} does not exist on endpoint {endpoint_name}.")
        if body.get("Specifications"):
            raise api.invalid("Specifications (one per instance type) are not emulated; use Specification.")
        specification = api.required(body, "Specification")
        base = self._check_specification(specification, endpoint_name)
        copies = None if base else int(api.required(api.required(body, "RuntimeConfig"), "CopyCount"))
        if base and body.get("RuntimeConfig"):
            raise api.invalid(
                "An adapter inference component runs on its base component's copies; omit RuntimeConfig."
            )
        if copies is not None and copies < 1:
            raise api.invalid("Inference components copy count must be an integer larger than 0.")
        component = Component(
            name, dict(body), endpoint=endpoint_name, variant=variant, desired=copies or 0, base=base
        )
        self.hosting.components[name] = component
        run(self.hosting.converge, component, component.generation)
        return {"InferenceComponentArn": arn("inference-component", name)}

    def _check_specification(self, specification: dict[str, Any], endpoint: str) -> str | None:
        """Validate a Specification; the base component's name when it is a LoRA adapter."""
        base = specification.get("BaseInferenceComponentName")
        container = specification.get("Container") or {}
        if base:
            found = self.hosting.components.get(str(base))
            if found is None or found.endpoint != endpoint:
                raise api.not_found("inference-component", str(base))
            if found.base is not None:
                raise api.invalid(f"Base inference component {base} is itself an adapter component.")
            if specification.get("ModelName") or not container.get("ArtifactUrl"):
                raise api.invalid(
                    "An adapter inference component takes Container.ArtifactUrl and no ModelName."
                )
            return str(base)
        if specification.get("ModelName"):
            if specification["ModelName"] not in self.hosting.models:
                raise api.not_found("model", str(specification["ModelName"]))
        elif not container.get("Image"):
            raise api.invalid(
                "Specification needs a ModelName, a Container with an Image, or a BaseInferenceComponentName."
            )
        requirements = api.required(specification, "ComputeResourceRequirements")
        api.required(requirements, "MinMemoryRequiredInMb")
        return None

    def describe(self, body: dict[str, Any]) -> dict[str, Any]:
        component = self._component(api.required(body, "InferenceComponentName"))
        specification = component.request["Specification"]
        base = self.hosting.components.get(component.base or "")
        inherited = base.request["Specification"] if base is not None else {}
        image, environment, _ = self.hosting.container({**inherited, **specification})
        container: dict[str, Any] = {"Environment": environment}
        if image:
            container["DeployedImage"] = {
                "SpecifiedImage": image,
                "ResolvedImage": image,
                "ResolutionTime": component.created,
            }
        if specification.get("Container", {}).get("ArtifactUrl"):
            container["ArtifactUrl"] = specification["Container"]["ArtifactUrl"]
        summary = {k: v for k, v in specification.items() if k != "Container"}
        desired, current = self.hosting.copies(component)
        described: dict[str, Any] = {
            "InferenceComponentName": component.name,
            "InferenceComponentArn": arn("inference-component", component.name),
            "EndpointName": component.endpoint,
            "EndpointArn": arn("endpoint", component.endpoint),
            "VariantName": component.variant,
            "Specification": {**summary, "Container": container},
            "RuntimeConfig": {"DesiredCopyCount": desired, "CurrentCopyCount": current},
            "CreationTime": component.created,
            "LastModifiedTime": component.modified,
            "InferenceComponentStatus": component.status,
        }
        if component.failure:
            described["FailureReason"] = component.failure
        return described

    def update(self, body: dict[str, Any]) -> dict[str, Any]:
        component = self._updatable(api.required(body, "InferenceComponentName"))
        specification, runtime = body.get("Specification"), body.get("RuntimeConfig")
        if not specification and not runtime:
            raise api.invalid("UpdateInferenceComponent needs a Specification or a RuntimeConfig.")
        if specification:
            base = self._check_specification(specification, component.endpoint)
            if base != component.base:
                raise api.invalid("An update cannot turn a component into an adapter component or back.")
            component.request["Specification"] = dict(specification)
        if runtime:
            self._set_copies(component, int(api.required(runtime, "CopyCount")))
        self._start_update(component, restart=bool(specification))
        return {"InferenceComponentArn": arn("inference-component", component.name)}

    def update_runtime(self, body: dict[str, Any]) -> dict[str, Any]:
        component = self._updatable(api.required(body, "InferenceComponentName"))
        self._set_copies(
            component, int(api.required(api.required(body, "DesiredRuntimeConfig"), "CopyCount"))
        )
        self._start_update(component, restart=False)
        return {"InferenceComponentArn": arn("inference-component", component.name)}

    def _set_copies(self, component: Component, copies: int) -> None:
        if component.base is not None:
            raise api.invalid(
                f"Inference component {component.name} is an adapter; scale its base {component.base}."
            )
        if copies < 0:
            raise api.invalid("CopyCount must be greater than or equal to 0.")
        endpoint = self.hosting.endpoints.get(component.endpoint)
        if copies == 0 and (endpoint is None or not endpoint.scales_to_zero):
            raise api.invalid(
                "Copy count 0 is only allowed on an endpoint whose ManagedInstanceScaling is enabled with "
                "MinInstanceCount 0."
            )
        component.desired = copies

    def _start_update(self, component: Component, restart: bool) -> None:
        component.status, component.modified = "Updating", time.time()
        component.generation += 1
        run(self.hosting.converge, component, component.generation, restart)

    def delete(self, body: dict[str, Any]) -> dict[str, Any]:
        component = self._component(api.required(body, "InferenceComponentName"))
        adapters = sorted(c.name for c in self.hosting.components.values() if c.base == component.name)
        if adapters:
            raise api.invalid(
                f"Inference component {component.name} is the base of adapter components ({', '.join(adapters)}); "
                "delete them first."
            )
        if component.status != "Deleting":
            component.status = "Deleting"
            run(self.hosting.delete_component, component)
        return {}

    def list(self, body: dict[str, Any]) -> dict[str, Any]:
        chosen = [
            c
            for c in self.hosting.components.values()
            if body.get("EndpointNameEquals") in (None, c.endpoint)
            and body.get("VariantNameEquals") in (None, c.variant)
        ]
        return api.listing(
            body,
            chosen,
            "InferenceComponents",
            lambda c: {
                "CreationTime": c.created,
                "InferenceComponentArn": arn("inference-component", c.name),
                "InferenceComponentName": c.name,
                "EndpointArn": arn("endpoint", c.endpoint),
                "EndpointName": c.endpoint,
                "VariantName": c.variant,
                "InferenceComponentStatus": c.status,
                "LastModifiedTime": c.modified,
            },
            status=lambda c: c.status,
        )

    def _component(self, name: str) -> Component:
        if name not in self.hosting.components:
            raise api.not_found("inference-component", name)
        return self.hosting.components[name]

    def _updatable(self, name: str) -> Component:
        component = self._component(name)
        if component.status not in UPDATABLE:
            raise api.invalid(
                f"Inference component {name} is in status {component.status}; wait until it is InService."
            )
        return component
