"""Who may see a control-plane resource: the one rule every service asks.

Today a key sees what it created and the admin key sees everything. Roles (`admin`,
`member`) slot in here: `can_see` is the only place that reads a principal against an owner.
A resource recorded before owners existed has none, so only the admin sees it.
"""

from __future__ import annotations

from relay.services.keys.models import Principal


def can_see(principal: Principal, owner: str | None) -> bool:
    if principal.is_admin:
        return True
    return owner is not None and owner == principal.key_id


def owner_of(principal: Principal) -> str:
    """The owner recorded on what this principal creates (the admin key has its own id)."""
    return principal.key_id
