"""The SageMaker resources of engines and deployments: made when needed, read before made, removed
when nothing needs them (so an engine with no live deployment holds no endpoint and bills nothing).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

from relay.backends.sagemaker.hosting import ComponentSpec, ComponentState
from relay.catalogue import base_model
from relay.errors import NotFoundError
from relay.services.deployments import status as st
from relay.services.deployments.models import VARIANT_NAME, Deployment, Engine, SageMakerNames
from relay.services.deployments.repository import DeploymentRepository, EngineRepository
from relay.services.deployments.sources import base_model_prefix

# Where SageMaker mounts ModelDataSource in the container.
MODEL_DIR = "/opt/ml/model"


class HostingPort(Protocol):
    def create_model(
        self, name: str, *, image: str, role_arn: str, model_data_url: str | None, environment: dict[str, str]
    ) -> None: ...
    def model_exists(self, name: str) -> bool: ...
    def delete_model(self, name: str) -> bool: ...
    def create_endpoint_config(
        self, name: str, *, role_arn: str, variant_name: str, instance_type: str, max_instances: int
    ) -> None: ...
    def endpoint_config_exists(self, name: str) -> bool: ...
    def delete_endpoint_config(self, name: str) -> bool: ...
    def create_endpoint(self, name: str, *, config_name: str, quota: str | None = None) -> None: ...
    def endpoint_status(self, name: str) -> str | None: ...
    def delete_endpoint(self, name: str) -> bool: ...
    def create_component(self, spec: ComponentSpec, *, quota: str | None = None) -> None: ...
    def component(self, name: str) -> ComponentState | None: ...
    def set_copies(self, name: str, copies: int) -> None: ...
    def delete_component(self, name: str) -> bool: ...
    def components_on(self, endpoint_name: str) -> list[str]: ...


@dataclass(frozen=True)
class HostingConfig:
    role_arn: str
    region: str
    bucket: str
    max_instances: int = 1


@dataclass(frozen=True)
class Progress:
    ready: bool = False
    failure: str | None = None


class Resources:
    def __init__(
        self,
        sagemaker: HostingPort,
        deployments: DeploymentRepository,
        engines: EngineRepository,
        names: SageMakerNames,
        config: HostingConfig,
    ) -> None:
        self.sagemaker = sagemaker
        self.deployments = deployments
        self.engines = engines
        self.names = names
        self.config = config

    def _engine(self, deployment: Deployment) -> Engine:
        engine = self.engines.get(deployment.engine_id)
        if engine is None:
            raise NotFoundError(f"Engine {deployment.engine_id} of deployment {deployment.id} is gone")
        return engine

    def _quota(self, engine: Engine) -> str:
        return f"{engine.instance_type} for endpoint usage"

    def ensure_endpoint(self, engine: Engine) -> str:
        """The endpoint's status, creating its config and the endpoint when there is none."""
        name, config = self.names.endpoint(engine.id), self.names.endpoint_config(engine.id)
        status = self.sagemaker.endpoint_status(name)
        if status is not None:
            return status
        if not self.sagemaker.endpoint_config_exists(config):
            self.sagemaker.create_endpoint_config(
                config,
                role_arn=self.config.role_arn,
                variant_name=VARIANT_NAME,
                instance_type=engine.instance_type,
                max_instances=self.config.max_instances,
            )
        self.sagemaker.create_endpoint(name, config_name=config, quota=self._quota(engine))
        return "Creating"

    def environment(self, deployment: Deployment) -> dict[str, str]:
        """What the container is told: where the weights are, the task, the labels, an adapter's base."""
        env = {
            "HF_MODEL_ID": MODEL_DIR,
            "OPTION_MODEL_ID": MODEL_DIR,
            "RELAY_TASK_TYPE": deployment.task_type,
        }
        if deployment.labels:
            env["RELAY_LABELS"] = json.dumps(list(deployment.labels))
        if deployment.adapter:
            # No base component to sit on: the container merges the adapter into these weights.
            env["RELAY_BASE_MODEL_URL"] = base_model_prefix(self.config.bucket, deployment.base_model)
        return env

    def ensure_model(self, deployment: Deployment) -> None:
        if deployment.base_component:
            return  # an adapter component has no model of its own
        name = self.names.model(deployment.id)
        if self.sagemaker.model_exists(name):
            return
        spec = base_model(deployment.base_model)
        if spec is None:
            raise NotFoundError(f"Base model {deployment.base_model} is no longer in the catalogue")
        self.sagemaker.create_model(
            name,
            image=spec.serving.image_for(deployment.task_type, self.config.region),
            role_arn=self.config.role_arn,
            model_data_url=deployment.model_data_url,
            environment=self.environment(deployment),
        )

    def start_create(self, deployment: Deployment) -> None:
        self.ensure_model(deployment)
        self.ensure_endpoint(self._engine(deployment))

    def _ready(self, deployment: Deployment, component: ComponentState) -> bool:
        if component.status != "InService":
            return False
        if deployment.base_component:
            base = self.sagemaker.component(deployment.base_component)
            return base is not None and base.current_copies >= 1
        return component.current_copies >= 1

    def advance_create(self, deployment: Deployment) -> Progress:
        engine = self._engine(deployment)
        status = self.ensure_endpoint(engine)
        if status == "Failed":
            return Progress(failure=f"SageMaker endpoint {self.names.endpoint(engine.id)} failed")
        if status != "InService":
            return Progress()
        self.ensure_model(deployment)
        name = self.names.component(deployment.id)
        component = self.sagemaker.component(name)
        if component is None:
            self.sagemaker.create_component(
                ComponentSpec(
                    name=name,
                    endpoint_name=self.names.endpoint(engine.id),
                    variant_name=VARIANT_NAME,
                    copies=1,
                    model_name=None if deployment.base_component else self.names.model(deployment.id),
                    base_component=deployment.base_component,
                    artifact_url=deployment.model_data_url if deployment.base_component else None,
                ),
                quota=self._quota(engine),
            )
            return Progress()
        if component.status == "Failed":
            return Progress(
                failure=component.failure_reason or f"SageMaker inference component {name} failed"
            )
        return Progress(ready=self._ready(deployment, component))

    def advance_reactivate(self, deployment: Deployment) -> Progress:
        name = self.names.component(deployment.id)
        component = self.sagemaker.component(name)
        if component is None:
            return Progress(failure=f"SageMaker inference component {name} no longer exists")
        if component.status == "Failed":
            return Progress(
                failure=component.failure_reason or f"SageMaker inference component {name} failed"
            )
        if deployment.base_component is None and component.desired_copies < 1:
            self.set_copies(deployment, 1)
            return Progress()
        return Progress(ready=self._ready(deployment, component))

    def set_copies(self, deployment: Deployment, copies: int) -> bool:
        """Set the component's copy count; False when there is nothing to change (or no component)."""
        if deployment.base_component:
            return False  # adapters run in their base component's copies
        name = self.names.component(deployment.id)
        component = self.sagemaker.component(name)
        if (
            component is None
            or component.desired_copies == copies
            # Only an InService component takes a new count; while it is Creating or Updating,
            # the caller's next poll (or the scaler's next run) sets it.
            or component.status != "InService"
        ):
            return False
        self.sagemaker.set_copies(name, copies)
        return True

    def remove(self, deployment: Deployment) -> bool:
        """Delete the component, then (once it is gone) the model; True when nothing is left."""
        name = self.names.component(deployment.id)
        component = self.sagemaker.component(name)
        if component is not None:
            if component.status != "Deleting":
                self.sagemaker.delete_component(name)
            return False
        self.sagemaker.delete_model(self.names.model(deployment.id))
        self._release_idle_endpoint(deployment)
        return True

    def _release_idle_endpoint(self, ended: Deployment) -> None:
        """Remove the engine's endpoint once no live deployment needs it (a later deploy recreates it)."""
        others = [
            d
            for d in self.deployments.on_engine(ended.engine_id)
            if d.id != ended.id and not st.is_terminal(d.status)
        ]
        endpoint = self.names.endpoint(ended.engine_id)
        if others or self.sagemaker.components_on(endpoint):
            return
        self.sagemaker.delete_endpoint(endpoint)
        self.sagemaker.delete_endpoint_config(self.names.endpoint_config(ended.engine_id))

    def delete_engine(self, engine_id: str) -> dict[str, object]:
        """Remove every component and model, then the endpoint and its config, then the record.

        Components take minutes to delete and an endpoint is deleted only once none is left on
        it (so a refused DeleteEndpoint never passes for "already gone"); until then the engine
        stays `deleting` and the scaler's next run calls this again.
        """
        engine = self.engines.get(engine_id)
        if engine is None:
            return {"deleted": True}
        endpoint = self.names.endpoint(engine_id)
        remaining = self.sagemaker.components_on(endpoint)
        for name in remaining:
            component = self.sagemaker.component(name)
            if component is not None and component.status != "Deleting":
                self.sagemaker.delete_component(name)
        for deployment in self.deployments.on_engine(engine_id):
            self.sagemaker.delete_model(self.names.model(deployment.id))
        if remaining:
            return {"deleted": False}
        self.sagemaker.delete_endpoint(endpoint)
        self.sagemaker.delete_endpoint_config(self.names.endpoint_config(engine_id))
        self.engines.remove(engine_id)
        return {"deleted": True}
