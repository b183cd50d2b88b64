"""template.yaml's EventBridge Scheduler groups and schedules, on the local stack.

Groups and schedules are created in moto's Scheduler (its server serves `scheduler`), so the
app's GetSchedule / CreateSchedule calls see what `sam deploy` would have made. moto stores
schedules but never fires them; `RateTicker` fires the template's `rate(...)` schedules here,
invoking the target function in-process (`local.functions`) with the schedule's Input, as
Scheduler's asynchronous Lambda invoke would. Schedules the app creates at run time (weekly
start/stop with a timezone) are stored, not fired.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from local import functions
from local.daemons import Daemons, warn_failed
from local.template import resources_of_type

_log = logging.getLogger("relay.local.scheduler")
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class LocalSchedule:
    """A template schedule as created on the local stack."""

    name: str
    group: str
    expression: str
    target_arn: str
    input: dict[str, Any]

    @property
    def rate_seconds(self) -> float | None:
        """The period of a `rate(...)` expression; None for cron and at expressions."""
        match = _RATE.match(self.expression)
        if match is None:
            return None
        return int(match[1]) * _UNIT_SECONDS[match[2].rstrip("s")]


def create_schedules(
    session: Any, template: dict[str, Any], names: dict[str, str], resolver: Any, region: str
) -> list[LocalSchedule]:
    """Create every schedule group and schedule of the template in moto (idempotent)."""
    groups = resources_of_type(template, "AWS::Scheduler::ScheduleGroup")
    schedules = resources_of_type(template, "AWS::Scheduler::Schedule")
    if not groups and not schedules:
        return []
    client = session.client("scheduler", region_name=region)
    existing_groups = {g["Name"] for g in client.list_schedule_groups().get("ScheduleGroups", [])}
    for logical_id, resource in groups.items():
        name = str(resolver.resolve(resource["Properties"]["Name"]))
        if name not in existing_groups:
            client.create_schedule_group(Name=name)
        names[logical_id] = name  # Ref of a schedule group is its name
    created = []
    for logical_id, resource in schedules.items():
        properties = {key: resolver.resolve(value) for key, value in resource["Properties"].items()}
        group = str(properties.get("GroupName", "default"))
        target = {key: resolver.resolve(value) for key, value in properties["Target"].items()}
        kwargs = {
            "Name": str(properties["Name"]),
            "GroupName": group,
            "ScheduleExpression": str(properties["ScheduleExpression"]),
            "FlexibleTimeWindow": properties["FlexibleTimeWindow"],
            "State": properties.get("State", "ENABLED"),
            "Target": {k: target[k] for k in ("Arn", "RoleArn", "Input", "RetryPolicy") if k in target},
        }
        if properties.get("ScheduleExpressionTimezone"):
            kwargs["ScheduleExpressionTimezone"] = properties["ScheduleExpressionTimezone"]
        listed = client.list_schedules(GroupName=group).get("Schedules", [])
        if any(s["Name"] == kwargs["Name"] for s in listed):
            client.update_schedule(**kwargs)
        else:
            client.create_schedule(**kwargs)
        names[logical_id] = kwargs["Name"]
        created.append(
            LocalSchedule(
                kwargs["Name"],
                group,
                kwargs["ScheduleExpression"],
                str(target["Arn"]),
                json.loads(target.get("Input") or "{}"),
            )
        )
    return created


class RateTicker(Daemons):
    """Fires rate schedules on a daemon thread until `stop`.

    `interval` replaces every schedule's own period (the local stack's scaler runs every few
    seconds rather than every five minutes when asked to); 0 fires nothing.
    """

    def __init__(self, schedules: list[LocalSchedule], interval: float | None = None) -> None:
        self._due = [
            (schedule, interval if interval is not None else schedule.rate_seconds)
            for schedule in schedules
            if schedule.rate_seconds is not None
        ]
        super().__init__()
        self.fired: dict[str, int] = {}

    def start(self) -> RateTicker:
        for schedule, period in self._due:
            if period and period > 0:
                self.spawn(self._run, (schedule, float(period)), f"schedule-{schedule.name}")
        return self

    def _run(self, schedule: LocalSchedule, period: float) -> None:
        # Scheduler fires at the end of each period, not when the schedule is created.
        while not self._stopped.wait(period):
            result = functions.invoke(schedule.target_arn, schedule.input)
            self.fired[schedule.name] = self.fired.get(schedule.name, 0) + 1
            if result.get("FunctionError"):
                warn_failed(_log, result, f"schedule {schedule.name}: {schedule.target_arn}")
