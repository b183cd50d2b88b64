"""The base of every wire model: validators and serializers are built on first use.

Building a model's pydantic-core schema is most of the cost of defining it (relay.protocol
was ~80 ms of the DataPlane's cold import, nearly all of it schema building). Deferred, a
route pays only for the models it touches, on its first request; a SnapStart snapshot is
taken after `relay.lifecycle.prime` has built the ones the inference routes use.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class WireModel(BaseModel):
    model_config = ConfigDict(defer_build=True)
