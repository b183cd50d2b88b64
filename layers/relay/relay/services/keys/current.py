"""The key a request runs as, for the code that resolves models deep below the routes.

The HTTP auth gate binds the principal to the request's context; the model resolver asks
`check_model` (the key's allow-list) and `for_key` (the key's inference profile) without
every service passing the principal down. Outside a request (workers, tests) nothing is
bound and both let everything through unchanged.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import replace

from relay.errors import PermissionDeniedError, shown
from relay.services.keys.models import Principal
from relay.targets import BedrockTarget, Target

_current: ContextVar[Principal | None] = ContextVar("relay_principal", default=None)


def bind(principal: Principal) -> Token[Principal | None]:
    return _current.set(principal)


def unbind(token: Token[Principal | None]) -> None:
    _current.reset(token)


def current_principal() -> Principal | None:
    return _current.get()


def check_model(model_id: str) -> None:
    """PermissionDeniedError when the request's key may not call `model_id`."""
    principal = _current.get()
    policy = principal.policy if principal is not None else None
    if policy is not None and not policy.allows(model_id):
        raise PermissionDeniedError(
            f"This API key may not use the model '{shown(model_id)}'", param="model", code="model_not_allowed"
        )


def for_key(model_id: str, target: Target) -> Target:
    """The target as the request's key calls it: through its own inference profile, if it has one."""
    principal = _current.get()
    policy = principal.policy if principal is not None else None
    if policy is None or not isinstance(target, BedrockTarget):
        return target
    profile = policy.profile_for(model_id)
    return replace(target, profile_arn=profile) if profile is not None else target
