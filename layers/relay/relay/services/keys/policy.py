"""What a stored key may do: its role, model globs, rate limits, token budget, expiry, profiles.

A `KeyPolicy` rides on the `Principal` that auth caches, so the hot path reads it without IO.
A key with no limits has `limited` False and never touches the limit counters.
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Literal

Role = Literal["admin", "member"]
Period = Literal["day", "month"]
ROLES: tuple[Role, ...] = ("admin", "member")
PERIODS: tuple[Period, ...] = ("day", "month")


@dataclass(frozen=True)
class TokenBudget:
    limit: int
    period: Period


@dataclass(frozen=True)
class KeyPolicy:
    role: Role = "member"
    allowed_models: tuple[str, ...] | None = None  # None: every model the deployment serves
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    token_budget: TokenBudget | None = None
    expires_at: int | None = None  # UNIX seconds
    metadata: tuple[tuple[str, str], ...] = ()
    inference_profile_arn: tuple[tuple[str, str], ...] = ()  # model id -> application profile ARN
    _profiles: dict[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_profiles", dict(self.inference_profile_arn))

    @property
    def limited(self) -> bool:
        """Whether requests must pass the shared counters (rpm, tpm or a budget)."""
        return self.rpm_limit is not None or self.tpm_limit is not None or self.token_budget is not None

    def allows(self, model_id: str) -> bool:
        """Globs are case-sensitive, as model ids are; `*` spans `/` and `:` too."""
        if self.allowed_models is None:
            return True
        return any(fnmatchcase(model_id, pattern) for pattern in self.allowed_models)

    def profile_for(self, model_id: str) -> str | None:
        return self._profiles.get(model_id)

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


UNRESTRICTED = KeyPolicy(role="admin")


def minute_window(now: float) -> int:
    """The start (UNIX seconds) of the fixed UTC minute holding `now`."""
    return int(now) // 60 * 60


def period_bounds(period: Period, now: float) -> tuple[str, int, int]:
    """(label, start, end) of the UTC day or month holding `now`; `end` is exclusive."""
    t = time.gmtime(int(now))
    if period == "day":
        start = calendar.timegm((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0))
        return time.strftime("%Y-%m-%d", t), start, start + 86400
    start = calendar.timegm((t.tm_year, t.tm_mon, 1, 0, 0, 0))
    year, month = (t.tm_year + 1, 1) if t.tm_mon == 12 else (t.tm_year, t.tm_mon + 1)
    return time.strftime("%Y-%m", t), start, calendar.timegm((year, month, 1, 0, 0, 0))


_day: tuple[int, str] = (-1, "")


def utc_date(now: float) -> str:
    """`YYYY-MM-DD` of `now` in UTC (formatted once a day: every metered request asks)."""
    global _day
    day = int(now) // 86400
    if day != _day[0]:
        _day = (day, time.strftime("%Y-%m-%d", time.gmtime(day * 86400)))
    return _day[1]
