"""SageMaker hosting: models, endpoint configs, endpoints and inference components, errors mapped here.

Engines are inference-component endpoints (no model in the production variant, managed
instance scaling down to 0 instances); deployments are inference components on them. Calls
never wait: the deployment state machine polls the Describe calls.

Errors are read by code only. SageMaker has no "not found" code for these resources: a
Describe, List or Delete of a missing one answers `ValidationException`, so for those
operations that code means not found; for an Update (of a resource just described) it means
its status refuses the change, and for a Create that the request was refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relay.backends.aws import error_code
from relay.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RelayError,
    ServiceUnavailableError,
    UpstreamError,
)

_THROTTLED = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException"})
_UNAVAILABLE = frozenset({"InternalFailure", "ServiceUnavailable", "InternalServerError"})


class QuotaExceededError(RelayError):
    """An account quota stops SageMaker from creating the resource; only a quota increase helps."""

    status = 429
    type = "insufficient_quota"
    code = "insufficient_quota"


def map_hosting_error(
    exc: Exception, operation: str, resource: str, *, quota: str | None = None
) -> RelayError:
    """The domain error for a failed SageMaker control call `operation` on `resource`."""
    if isinstance(exc, BotoCoreError):
        return ServiceUnavailableError(f"Could not reach SageMaker for {operation} {resource}", retry_after=5)
    if not isinstance(exc, ClientError):
        raise exc
    code = error_code(exc)
    message = str(exc.response.get("Error", {}).get("Message", "")) or code
    if code in _THROTTLED:
        return RateLimitError(f"SageMaker is throttling {operation}; try again shortly", retry_after=2)
    if code == "ValidationException":
        if operation.startswith(("Describe", "Delete", "List")):
            return NotFoundError(f"SageMaker has no {resource}", code="sagemaker_resource_not_found")
        if operation.startswith("Update"):
            # Callers describe first, so the resource exists: its status refuses the change.
            return ConflictError(f"SageMaker refused {operation} {resource} in its current status: {message}")
        return BadRequestError(
            f"SageMaker refused {operation} {resource}: {message}", code="sagemaker_validation"
        )
    if code == "ResourceNotFound":
        return NotFoundError(f"SageMaker has no {resource}", code="sagemaker_resource_not_found")
    if code == "ResourceLimitExceeded":
        what = quota or f"the quota that limits {operation}"
        return QuotaExceededError(
            f"SageMaker refused {operation} {resource}: the account is at its quota for {what}. "
            "Request an increase in Service Quotas (Amazon SageMaker) and deploy again."
        )
    if code == "ResourceInUse":
        return ConflictError(f"SageMaker {resource} is in use: {message}")
    if code in ("AccessDeniedException", "AccessDenied"):
        return PermissionDeniedError(f"Not allowed to call SageMaker {operation} on {resource}")
    if code in _UNAVAILABLE:
        return ServiceUnavailableError(f"SageMaker failed {operation}; try again", retry_after=5)
    return UpstreamError(
        f"SageMaker {operation} {resource} failed: {code or 'unknown error'} {message}".strip()
    )


@dataclass(frozen=True)
class ComponentState:
    status: str  # Creating | InService | Updating | Failed | Deleting
    desired_copies: int
    current_copies: int
    failure_reason: str | None = None


@dataclass(frozen=True)
class ComponentSpec:
    """An inference component: a model of its own, or an adapter on a base component."""

    name: str
    endpoint_name: str
    variant_name: str
    copies: int
    model_name: str | None = None
    base_component: str | None = None
    artifact_url: str | None = None  # an adapter's weights (S3 prefix)
    cpu_cores: float = 1
    accelerators: float | None = None
    memory_mb: int = 1024


class SageMakerHosting:
    def __init__(self, client: Callable[[], Any]) -> None:
        self._client = client

    def _call(self, operation: str, resource: str, quota: str | None = None, **kwargs: Any) -> dict[str, Any]:
        method = "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")
        try:
            result: dict[str, Any] = getattr(self._client(), method)(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise map_hosting_error(exc, operation, resource, quota=quota) from exc
        return result

    def _gone(self, operation: str, resource: str, **kwargs: Any) -> bool:
        """Run a Delete; False when there was nothing to delete (deletes are retried and must not fail)."""
        try:
            self._call(operation, resource, **kwargs)
        except NotFoundError:
            return False
        return True

    # --- models ---

    def create_model(
        self,
        name: str,
        *,
        image: str,
        role_arn: str,
        model_data_url: str | None,
        environment: dict[str, str],
    ) -> None:
        container: dict[str, Any] = {"Image": image, "Environment": environment}
        if model_data_url:
            # The trainer's checkpoint folder as it is: no tarball to build or unpack.
            container["ModelDataSource"] = {
                "S3DataSource": {"S3Uri": model_data_url, "S3DataType": "S3Prefix", "CompressionType": "None"}
            }
        self._call(
            "CreateModel",
            f"model {name}",
            ModelName=name,
            ExecutionRoleArn=role_arn,
            PrimaryContainer=container,
        )

    def model_exists(self, name: str) -> bool:
        try:
            self._call("DescribeModel", f"model {name}", ModelName=name)
        except NotFoundError:
            return False
        return True

    def delete_model(self, name: str) -> bool:
        return self._gone("DeleteModel", f"model {name}", ModelName=name)

    # --- endpoint configs and endpoints ---

    def create_endpoint_config(
        self, name: str, *, role_arn: str, variant_name: str, instance_type: str, max_instances: int
    ) -> None:
        variant = {
            "VariantName": variant_name,
            "InstanceType": instance_type,
            "InitialInstanceCount": 1,
            # Minimum 0: once every component is at 0 copies the endpoint holds no instance.
            "ManagedInstanceScaling": {
                "Status": "ENABLED",
                "MinInstanceCount": 0,
                "MaxInstanceCount": max_instances,
            },
            "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
        }
        self._call(
            "CreateEndpointConfig",
            f"endpoint configuration {name}",
            quota=f"{instance_type} for endpoint usage",
            EndpointConfigName=name,
            ExecutionRoleArn=role_arn,
            ProductionVariants=[variant],
        )

    def endpoint_config_exists(self, name: str) -> bool:
        try:
            self._call("DescribeEndpointConfig", f"endpoint configuration {name}", EndpointConfigName=name)
        except NotFoundError:
            return False
        return True

    def delete_endpoint_config(self, name: str) -> bool:
        return self._gone("DeleteEndpointConfig", f"endpoint configuration {name}", EndpointConfigName=name)

    def create_endpoint(self, name: str, *, config_name: str, quota: str | None = None) -> None:
        self._call(
            "CreateEndpoint",
            f"endpoint {name}",
            quota=quota,
            EndpointName=name,
            EndpointConfigName=config_name,
        )

    def endpoint_status(self, name: str) -> str | None:
        """Creating, InService, Failed, ...; None when there is no such endpoint."""
        try:
            found = self._call("DescribeEndpoint", f"endpoint {name}", EndpointName=name)
        except NotFoundError:
            return None
        return str(found.get("EndpointStatus", ""))

    def delete_endpoint(self, name: str) -> bool:
        return self._gone("DeleteEndpoint", f"endpoint {name}", EndpointName=name)

    # --- inference components ---

    def create_component(self, spec: ComponentSpec, *, quota: str | None = None) -> None:
        specification: dict[str, Any]
        kwargs: dict[str, Any] = {}
        if spec.base_component:
            # An adapter shares its base component's copies and compute: no RuntimeConfig of its own.
            specification = {
                "BaseInferenceComponentName": spec.base_component,
                "Container": {"ArtifactUrl": spec.artifact_url},
            }
        else:
            requirements: dict[str, Any] = {
                "NumberOfCpuCoresRequired": spec.cpu_cores,
                "MinMemoryRequiredInMb": spec.memory_mb,
            }
            if spec.accelerators:
                requirements["NumberOfAcceleratorDevicesRequired"] = spec.accelerators
            specification = {"ModelName": spec.model_name, "ComputeResourceRequirements": requirements}
            kwargs["RuntimeConfig"] = {"CopyCount": spec.copies}
        self._call(
            "CreateInferenceComponent",
            f"inference component {spec.name}",
            quota=quota,
            InferenceComponentName=spec.name,
            EndpointName=spec.endpoint_name,
            VariantName=spec.variant_name,
            Specification=specification,
            **kwargs,
        )

    def component(self, name: str) -> ComponentState | None:
        try:
            found = self._call(
                "DescribeInferenceComponent", f"inference component {name}", InferenceComponentName=name
            )
        except NotFoundError:
            return None
        runtime = found.get("RuntimeConfig") or {}
        return ComponentState(
            status=str(found.get("InferenceComponentStatus", "")),
            desired_copies=int(runtime.get("DesiredCopyCount", 0)),
            current_copies=int(runtime.get("CurrentCopyCount", 0)),
            failure_reason=found.get("FailureReason") or None,
        )

    def set_copies(self, name: str, copies: int) -> None:
        self._call(
            "UpdateInferenceComponentRuntimeConfig",
            f"inference component {name}",
            InferenceComponentName=name,
            DesiredRuntimeConfig={"CopyCount": copies},
        )

    def delete_component(self, name: str) -> bool:
        return self._gone(
            "DeleteInferenceComponent", f"inference component {name}", InferenceComponentName=name
        )

    def components_on(self, endpoint_name: str) -> list[str]:
        names: list[str] = []
        kwargs: dict[str, Any] = {"EndpointNameEquals": endpoint_name, "MaxResults": 100}
        while True:
            try:
                page = self._call(
                    "ListInferenceComponents", f"components of endpoint {endpoint_name}", **kwargs
                )
            except NotFoundError:
                return names  # no such endpoint: nothing on it
            names += [str(c["InferenceComponentName"]) for c in page.get("InferenceComponents", [])]
            if not page.get("NextToken"):
                return names
            kwargs["NextToken"] = page["NextToken"]
