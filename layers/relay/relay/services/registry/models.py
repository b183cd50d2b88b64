"""The registry's records and their wire form.

A record is a `relay.targets.SageMakerTarget` (defined below both services and backends, so
backends receive it without importing this package). Records with `deployment_id` set were
written by the control plane's deployments; the admin routes write the others.
"""

from __future__ import annotations

from relay.protocol.registry import RegisteredModel
from relay.targets import DEFAULT_TAG, Flavour, SageMakerTarget, normalize_model_id

__all__ = [
    "DEFAULT_TAG",
    "REFUSED_STATUSES",
    "UNKNOWN",
    "Flavour",
    "SageMakerTarget",
    "normalize_model_id",
    "to_registered",
]

# DescribeEndpoint statuses an endpoint cannot serve from, ever (the others pass or recover).
REFUSED_STATUSES = ("Failed", "Deleting")
UNKNOWN = "unknown"


def to_registered(target: SageMakerTarget, endpoint_status: str | None = None) -> RegisteredModel:
    name, _, tag = target.id.partition("/")
    return RegisteredModel(
        id=target.id,
        name=name,
        tag=tag,
        endpoint_name=target.endpoint_name,
        inference_component=target.inference_component,
        flavour=target.flavour,
        type=target.type,
        labels=list(target.labels),
        parameter_template=target.parameter_template,
        metadata=target.metadata,
        created=target.created_at,
        endpoint_status=endpoint_status,
    )
