"""Weekly start/stop schedules: validation (400 naming the field), Scheduler expressions, and the sync.

Validation and expressions are pure: the timezone database is the standard library's `zoneinfo`. Scheduler evaluates the
cron expression in `ScheduleExpressionTimezone`, so local times are passed through as the
user wrote them and daylight-saving changes are Scheduler's to apply.
"""

from __future__ import annotations

import re
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from relay.errors import BadRequestError
from relay.services.deployments.models import SageMakerNames, Schedule

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Scheduler's cron day-of-week names.
_CRON_DAYS = dict(zip(DAYS, ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"), strict=True))
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _time(value: Any, param: str) -> tuple[int, int]:
    match = _TIME.match(value) if isinstance(value, str) else None
    if match is None:
        raise BadRequestError(f"{param}: {value!r} is not a time in HH:MM (00:00 to 23:59)", param=param)
    return int(match.group(1)), int(match.group(2))


def _timezone(value: Any, param: str) -> str:
    if not isinstance(value, str) or not value or value != value.strip():
        raise BadRequestError(f"{param}: must be an IANA timezone such as America/Los_Angeles", param=param)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadRequestError(
            f"{param}: {value!r} is not an IANA timezone (for example America/Los_Angeles)", param=param
        ) from exc
    return value


def parse_schedule(values: dict[str, Any], param: str = "schedule") -> Schedule:
    """A validated schedule from the request's object; BadRequestError names the bad field."""
    for name in ("timezone", "start_time", "end_time", "days"):
        if values.get(name) in (None, "", []):
            raise BadRequestError(f"{param}.{name}: is required", param=f"{param}.{name}")
    unknown = sorted(set(values) - {"timezone", "start_time", "end_time", "days"})
    if unknown:
        raise BadRequestError(f"{param}.{unknown[0]}: unknown field", param=f"{param}.{unknown[0]}")
    timezone = _timezone(values["timezone"], f"{param}.timezone")
    start = _time(values["start_time"], f"{param}.start_time")
    end = _time(values["end_time"], f"{param}.end_time")
    if start == end:
        raise BadRequestError(
            f"{param}.end_time: must differ from start_time (the window would be empty)",
            param=f"{param}.end_time",
        )
    days = values["days"]
    if not isinstance(days, list):
        raise BadRequestError(f"{param}.days: must be a list of weekday names", param=f"{param}.days")
    for index, day in enumerate(days):
        if day not in DAYS:
            raise BadRequestError(
                f"{param}.days[{index}]: {day!r} is not one of {', '.join(DAYS)}", param=f"{param}.days"
            )
    if len(set(days)) != len(days):
        raise BadRequestError(f"{param}.days: lists a day twice", param=f"{param}.days")
    ordered = tuple(day for day in DAYS if day in days)
    return Schedule(timezone, f"{start[0]:02d}:{start[1]:02d}", f"{end[0]:02d}:{end[1]:02d}", ordered)


def _cron(hhmm: str, days: tuple[str, ...]) -> str:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    # Day-of-month must be `?` when day-of-week is given.
    return f"cron({minutes} {hours} ? * {','.join(_CRON_DAYS[d] for d in days)} *)"


def stop_days(schedule: Schedule) -> tuple[str, ...]:
    """The days the stop fires: the same days, or the next ones for a window past midnight."""
    if schedule.end_time > schedule.start_time:
        return schedule.days
    following = {DAYS[(DAYS.index(day) + 1) % 7] for day in schedule.days}
    return tuple(day for day in DAYS if day in following)


def expressions(schedule: Schedule) -> tuple[str, str]:
    """The start and stop cron expressions, evaluated by Scheduler in `schedule.timezone`."""
    return _cron(schedule.start_time, schedule.days), _cron(schedule.end_time, stop_days(schedule))


def function_arn(function: str, role_arn: str, region: str) -> str:
    """A Lambda function's ARN from its name, in the account and partition of `role_arn` (an ARN
    passes through): Scheduler targets need the ARN, the template may give the name."""
    if function.startswith("arn:"):
        return function
    parts = role_arn.split(":")
    if len(parts) < 5 or not parts[4]:
        raise ValueError(f"cannot tell the account of {role_arn!r}")
    return f"arn:{parts[1]}:lambda:{region}:{parts[4]}:function:{function}"


class SchedulePort(Protocol):
    def put(
        self,
        name: str,
        *,
        expression: str,
        timezone: str,
        target_arn: str,
        role_arn: str,
        payload: dict[str, Any],
    ) -> None: ...

    def delete(self, name: str) -> bool: ...


class ScheduleSync:
    """Keeps one start and one stop schedule per scheduled deployment or engine."""

    def __init__(self, port: SchedulePort, names: SageMakerNames, target_arn: str, role_arn: str) -> None:
        self._port = port
        self._names = names
        self._target_arn = target_arn
        self._role_arn = role_arn

    def apply(
        self,
        target: Literal["deployment", "engine"],
        owner_id: str,
        schedule: Schedule,
        project_id: str | None,
    ) -> None:
        start, stop = expressions(schedule)
        for state, expression in (("start", start), ("stop", stop)):
            payload: dict[str, Any] = {"action": "schedule", "target": target, "id": owner_id, "state": state}
            if project_id:
                payload["project_id"] = project_id  # a deployment is read by project and id
            self._port.put(
                self._names.schedule(owner_id, state),  # type: ignore[arg-type]
                expression=expression,
                timezone=schedule.timezone,
                target_arn=self._target_arn,
                role_arn=self._role_arn,
                payload=payload,
            )

    def remove(self, owner_id: str) -> None:
        self._port.delete(self._names.schedule(owner_id, "start"))
        self._port.delete(self._names.schedule(owner_id, "stop"))
