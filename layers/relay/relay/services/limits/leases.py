"""Per-instance leases: request slots reserved by one counter write and spent without IO.

Far from every limit, one conditional write reserves up to `MAX_SLOTS` requests for this
instance, at most a `SHARE`-th of the room left under each limit (tokens estimated from the
key's recent requests). They are spent locally until gone, until the minute or budget period
turns, or until the key's policy changes. Near a limit the lease shrinks to one slot, so
every request writes and the line is exact: requests never exceed `rpm_limit` (slots are
reserved conditionally), and token limits are overshot only by requests already in flight.

Tokens are charged to the instance's own view before a response's last byte and written to
the shared counters after it: at once near a limit, otherwise with the write that renews the
lease or within `FLUSH_SECONDS` — so far from the line most requests cost no write at all.

Trade-off: slots one instance reserved and did not use are lost to the others for that
minute, so a key spread over many instances may be refused a little before its limit; and
other instances see this one's tokens up to a lease (a tenth of the room) late.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from relay.services.keys.policy import KeyPolicy
from relay.services.limits.models import Counters, Limits, Reason

MAX_SLOTS = 32
FLUSH_SECONDS = 1.0
SHARE = 10
_SMOOTHING = 0.2  # weight of the newest request in the tokens-per-request average


@dataclass
class Lease:
    policy: KeyPolicy
    limits: Limits  # the minute and period it was granted for
    slots: int  # requests left to admit without a write
    view: Counters  # the shared counters as last returned by a write
    refused: Reason | None = None  # remembered until the minute or period turns
    tokens_per_request: float | None = None
    granted: int = 1  # slots the write reserved: 1 means near a limit, where tokens are written at once

    def covers(self, policy: KeyPolicy, limits: Limits) -> bool:
        return (
            self.policy == policy
            and self.limits.window == limits.window
            and self.limits.period == limits.period
        )

    def charge(self, tokens: int, *, in_window: bool = True) -> None:
        view = self.view
        add_window = in_window and view.window == self.limits.window
        self.view = replace(
            view,
            window_tokens=view.window_tokens + tokens if add_window else view.window_tokens,
            period_tokens=view.period_tokens + tokens
            if view.period == self.limits.period
            else view.period_tokens,
        )

    def observe(self, tokens: int, counters: Counters | None) -> None:
        """A settled request: its tokens feed the average, a write's answer the view."""
        average = self.tokens_per_request
        self.tokens_per_request = (
            float(tokens) if average is None else average + _SMOOTHING * (tokens - average)
        )
        if counters is not None:
            self.observe_counters(counters)

    def observe_counters(self, counters: Counters) -> None:
        if _newer(counters, self.view):
            self.view = counters


@dataclass
class Unsent:
    """Tokens charged here and not yet written, for one minute and period."""

    window: int
    period: str
    tokens: int
    since: float


def _newer(counters: Counters, view: Counters) -> bool:
    if counters.window != view.window:
        return counters.window > view.window
    return counters.requests >= view.requests and counters.period_tokens >= view.period_tokens


def token_refusal(view: Counters, limits: Limits) -> Reason | None:
    """What the view says of the token limits (requests are the lease's own slots)."""
    if limits.budget is not None and view.period == limits.period and view.period_tokens >= limits.budget:
        return "budget"
    if limits.tpm is not None and view.window == limits.window and view.window_tokens >= limits.tpm:
        return "tokens"
    return None


def lease_size(limits: Limits, view: Counters | None, tokens_per_request: float | None) -> int:
    """How many slots the next write reserves: 1 until the counters and token use are known."""
    if view is None:
        return 1
    slots = MAX_SLOTS
    same_window = view.window == limits.window
    if limits.rpm is not None:
        slots = min(slots, (limits.rpm - (view.requests if same_window else 0)) // SHARE)
    token_rooms = (
        (limits.tpm, view.window_tokens if same_window else 0),
        (limits.budget, view.period_tokens if view.period == limits.period else 0),
    )
    for limit, used in token_rooms:
        if limit is None:
            continue
        if tokens_per_request is None:
            return 1
        slots = min(slots, int((limit - used) / (SHARE * max(tokens_per_request, 1.0))))
    return max(1, slots)
