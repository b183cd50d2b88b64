"""The hosting records — models, endpoint configs, endpoints, inference components — and their lifecycle.

Statuses move on background threads as on AWS: an endpoint is Creating for `delay` seconds (longer
while a single-model endpoint's container loads); a component is Creating (or Updating) until its
container has downloaded its model data and loaded it, then InService, or Failed with the reason.
Every change bumps a component's `generation`, so a transition that was overtaken lets go.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.emulators.serving import artifacts, images, staging
from local.emulators.serving.process import ServingError, ServingProcess

ACCOUNT = "123456789012"


def region() -> str:
    return os.environ.get("AWS_DEFAULT_REGION", "us-east-1")


def arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region()}:{ACCOUNT}:{kind}/{name.lower()}"


@dataclass
class Record:
    name: str
    request: dict[str, Any]
    created: float = field(default_factory=time.time)
    modified: float = field(default_factory=time.time)


@dataclass
class Endpoint(Record):
    config: dict[str, Any] = field(default_factory=dict)  # the endpoint config as CreateEndpoint saw it
    status: str = "Creating"
    failure: str | None = None
    replica: ServingProcess | None = None  # a single-model endpoint's container, when served for real

    @property
    def variant(self) -> dict[str, Any]:
        return dict(self.config["ProductionVariants"][0])

    @property
    def component_based(self) -> bool:
        return not self.variant.get("ModelName")

    @property
    def scales_to_zero(self) -> bool:
        scaling = self.variant.get("ManagedInstanceScaling") or {}
        return scaling.get("Status") == "ENABLED" and int(scaling.get("MinInstanceCount", 1)) == 0


@dataclass
class Component(Record):
    endpoint: str = ""
    variant: str = ""
    status: str = "Creating"
    failure: str | None = None
    desired: int = 1
    current: int = 0
    base: str | None = None  # BaseInferenceComponentName: a LoRA adapter on that component
    replica: ServingProcess | None = None
    adapter_dir: Path | None = None  # an adapter component's downloaded LoRA weights
    generation: int = 0


@dataclass
class Route:
    """Where an invocation goes: the container, the adapter to select in it, and what it counts as."""

    replica: ServingProcess
    adapter: str | None
    variant: str
    component: str | None


class Unroutable(Exception):
    """SageMaker refuses the invocation (ValidationError); `capacity` marks a component without copies."""

    def __init__(self, message: str, capacity: bool = False) -> None:
        super().__init__(message)
        self.message, self.capacity = message, capacity


NO_CAPACITY = (
    "Inference Component has no capacity to process this request. ApplicationAutoScaling may be in-progress "
    "(if configured) or try to increase the capacity by invoking UpdateInferenceComponentRuntimeConfig API."
)


class Hosting:
    def __init__(self, s3: Callable[[], Any], delay: float) -> None:
        self.s3, self.delay = s3, delay
        self.lock = threading.RLock()
        self.models: dict[str, Record] = {}
        self.configs: dict[str, Record] = {}
        self.endpoints: dict[str, Endpoint] = {}
        self.components: dict[str, Component] = {}

    def route(self, endpoint_name: str, component_name: str | None) -> Route | None:
        """The container an invocation reaches; None for an endpoint served by the canned flavours."""
        with self.lock:
            endpoint = self.endpoints.get(endpoint_name)
            if endpoint is None:
                return None
            if endpoint.status not in ("InService", "Updating"):
                raise Unroutable(f"Endpoint {endpoint_name} of account {ACCOUNT} not found.")
            variant = str(endpoint.variant["VariantName"])
            if not endpoint.component_based:
                if component_name:
                    raise Unroutable(
                        f"Endpoint {endpoint_name} hosts no inference components; remove the Inference "
                        "Component Name header."
                    )
                return Route(endpoint.replica, None, variant, None) if endpoint.replica else None
            if not component_name:
                raise Unroutable(
                    "Inference Component Name header is required for endpoints to which you plan to deploy "
                    "inference components. Please include Inference Component Name header or consider using "
                    "SageMaker models."
                )
            component = self.components.get(component_name)
            if component is None or component.endpoint != endpoint_name or component.status == "Deleting":
                raise Unroutable(f"Inference Component {component_name} of account {ACCOUNT} not found.")
            owner = self.components.get(component.base or "") if component.base else component
            replica = owner.replica if owner is not None and component.status != "Creating" else None
            if replica is None or not replica.alive or self.copies(component)[1] == 0:
                raise Unroutable(NO_CAPACITY, capacity=True)
            return Route(replica, component.name if component.base else None, variant, component.name)

    # ------------------------------------------------------------- containers

    def container(self, spec: dict[str, Any]) -> tuple[str, dict[str, str], artifacts.ModelData | None]:
        return staging.container(self.models.get(str(spec.get("ModelName") or "")), spec)

    def start(self, name: str, spec: dict[str, Any]) -> ServingProcess:
        return staging.start(self.s3(), name, *self.container(spec))

    # ------------------------------------------------------------- endpoints

    def bring_up_endpoint(self, endpoint: Endpoint) -> None:
        time.sleep(self.delay)
        replica, failure = None, None
        if not endpoint.component_based:
            spec = {"ModelName": endpoint.variant["ModelName"]}
            if images.kind_of(self.container(spec)[0]) is not None:
                try:
                    replica = self.start(endpoint.name, spec)
                except ServingError as exc:
                    failure = str(exc)
        with self.lock:
            if self.endpoints.get(endpoint.name) is not endpoint or endpoint.status not in (
                "Creating",
                "Updating",
            ):
                if replica is not None:
                    replica.stop()
                return
            endpoint.replica = replica
            endpoint.status, endpoint.failure = ("Failed", failure) if failure else ("InService", None)
            endpoint.modified = time.time()

    def delete_endpoint(self, endpoint: Endpoint) -> None:
        with self.lock:
            endpoint.status, endpoint.modified = "Deleting", time.time()
            replica, endpoint.replica = endpoint.replica, None
        if replica is not None:
            replica.stop()
        time.sleep(self.delay)
        with self.lock:
            if self.endpoints.get(endpoint.name) is endpoint:
                del self.endpoints[endpoint.name]

    # ------------------------------------------------------------- components

    def converge(self, component: Component, generation: int, restart: bool = False) -> None:
        """Bring the component to its desired copies (loading or stopping its container), then InService."""
        if not self._wait_endpoint(component, generation):
            return
        replica, failure = None, None
        if component.base is not None:
            failure = self._attach_adapter(component)
        elif component.desired > 0 and (component.replica is None or restart):
            try:
                replica = self.start(component.name, component.request["Specification"])
            except ServingError as exc:
                failure = str(exc)
        else:
            time.sleep(self.delay)  # a copy count change on a loaded container
        with self.lock:
            if self.components.get(component.name) is not component or component.generation != generation:
                if replica is not None:
                    replica.stop()
                return
            retired = None
            if replica is not None or component.desired == 0 or failure:
                retired, component.replica = component.replica, replica
            component.current = 0 if failure else component.desired
            component.status, component.failure = ("Failed", failure) if failure else ("InService", None)
            component.modified = time.time()
        if retired is not None:
            retired.stop()
        if replica is not None:
            self._reattach_adapters(component)

    def delete_component(self, component: Component) -> None:
        with self.lock:
            component.status, component.modified = "Deleting", time.time()
            component.generation += 1
            replica, component.replica = component.replica, None
            base = self.components.get(component.base or "")
        if replica is not None:
            replica.stop()
        if base is not None and base.replica is not None and base.replica.alive:
            base.replica.call("DELETE", f"/adapters/{component.name}", {})
        if component.adapter_dir is not None:
            shutil.rmtree(component.adapter_dir, ignore_errors=True)
        time.sleep(self.delay)
        with self.lock:
            if self.components.get(component.name) is component:
                del self.components[component.name]

    def copies(self, component: Component) -> tuple[int, int]:
        """Desired and current copies; an adapter component runs on its base component's copies."""
        base = self.components.get(component.base or "")
        if base is not None:
            return base.desired, (base.current if component.status == "InService" else 0)
        return component.desired, component.current

    def _wait_endpoint(self, component: Component, generation: int) -> bool:
        while True:
            with self.lock:
                endpoint = self.endpoints.get(component.endpoint)
                if component.generation != generation:
                    return False
                if endpoint is None or endpoint.status in ("Failed", "Deleting"):
                    component.status = "Failed"
                    component.failure = f"Endpoint {component.endpoint} is not available"
                    return False
                if endpoint.status == "InService":
                    return True
            time.sleep(0.1)

    def _attach_adapter(self, component: Component) -> str | None:
        """Download the adapter and load it into the base component's container."""
        base = self.components.get(component.base or "")
        if base is None:
            return f"Base inference component {component.base} does not exist"
        deadline = time.monotonic() + 300
        while base.status not in ("InService", "Failed") and time.monotonic() < deadline:
            time.sleep(0.1)
        base_spec = base.request["Specification"]
        image, _, data = self.container(
            {**base_spec, "Container": component.request["Specification"]["Container"]}
        )
        if images.kind_of(image) != "text-generation":
            return f"Adapter inference components need a text-generation base; {image} is not one"
        if data is None:
            return "An adapter inference component needs Specification.Container.ArtifactUrl"
        workdir = Path(tempfile.mkdtemp(prefix=f"relay-adapter-{component.name}-"))
        try:
            component.adapter_dir = artifacts.download(self.s3(), data, workdir)
        except artifacts.ArtifactError as exc:
            shutil.rmtree(workdir, ignore_errors=True)
            return str(exc)
        return self._load_adapter(base, component)

    def _load_adapter(self, base: Component, adapter: Component) -> str | None:
        if base.replica is None or not base.replica.alive or adapter.adapter_dir is None:
            return None  # the base is scaled to zero: the adapter loads when its copies come back
        document = {"name": adapter.name, "path": str(adapter.adapter_dir)}
        status, reply = base.replica.call("POST", "/adapters", document)
        return None if status == 200 else f"The adapter failed to load: {reply.decode(errors='replace')}"

    def _reattach_adapters(self, base: Component) -> None:
        with self.lock:
            adapters = [c for c in self.components.values() if c.base == base.name]
        for adapter in adapters:
            failure = self._load_adapter(base, adapter)
            if failure:
                with self.lock:
                    adapter.status, adapter.failure = "Failed", failure


def run(target: Callable[..., None], *args: Any) -> None:
    threading.Thread(target=target, args=args, name=f"hosting-{target.__name__}", daemon=True).start()
