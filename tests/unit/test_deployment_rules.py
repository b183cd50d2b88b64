"""Deployment transitions, engine status, schedules and the scaler's idle decision (pure)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from relay.errors import BadRequestError
from relay.protocol.deployments import CreateDeploymentRequest, CreateEngineRequest
from relay.services.deployments import scaler, schedules
from relay.services.deployments import status as st
from relay.services.deployments.models import Schedule

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("Pending", "Deploying", True),
        ("Deploying", "Deployed", True),
        ("Deploying", "TimedOut", True),
        ("Deployed", "Deactivated", True),
        ("Deactivated", "Reactivating", True),
        ("Reactivating", "Deployed", True),
        ("Deployed", "Terminated", True),
        ("Deploying", "Cancelled", True),
        ("Deployed", "Cancelled", False),
        ("Deployed", "Reactivating", False),
        ("Reactivating", "Reactivating", False),
        ("Pending", "Deployed", False),
        ("Terminated", "Deployed", False),
        ("Failed", "Deploying", False),
        ("Cancelled", "Terminated", False),
    ],
)
def test_transition_table(current: str, target: str, allowed: bool) -> None:
    assert st.can_transition(current, target) is allowed


def test_terminal_statuses_go_nowhere_and_sources_are_the_condition() -> None:
    for status in st.TERMINAL:
        assert st.TRANSITIONS[status] == frozenset()
    assert set(st.sources_of("Reactivating")) == {"Deactivated"}
    assert set(st.sources_of("Deployed")) == {"Deploying", "Reactivating"}
    assert set(st.sources_of("Terminated")) == {"Deployed", "Deactivated", "Reactivating"}
    assert set(st.TRANSITIONS) == set(st.STATUSES)


@pytest.mark.parametrize(
    ("current", "after_delete"),
    [
        ("Pending", "Cancelled"),
        ("Deploying", "Cancelled"),
        ("Deployed", "Terminated"),
        ("Deactivated", "Terminated"),
        ("Reactivating", "Terminated"),
        ("Failed", None),
        ("Terminated", None),
    ],
)
def test_what_a_delete_does(current: str, after_delete: str | None) -> None:
    assert st.deletion_status(current) == after_delete


@pytest.mark.parametrize(
    ("statuses", "engine"),
    [
        ([], "Inactive"),
        (["Terminated", "Failed"], "Inactive"),
        (["Deactivated"], "Inactive"),
        (["Deploying"], "Creating"),
        (["Reactivating", "Deactivated"], "Creating"),
        (["Deployed", "Deploying"], "Active"),
        (["Deactivated", "Deployed"], "Active"),
    ],
)
def test_engine_status_derives_from_its_deployments(statuses: list[str], engine: str) -> None:
    assert st.engine_status(statuses) == engine


WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]


def test_schedule_parses_and_builds_cron_in_its_timezone() -> None:
    parsed = schedules.parse_schedule(
        {"timezone": "America/Los_Angeles", "start_time": "09:30", "end_time": "18:05", "days": WEEKDAYS}
    )
    assert parsed == Schedule("America/Los_Angeles", "09:30", "18:05", tuple(WEEKDAYS))
    start, stop = schedules.expressions(parsed)
    assert start == "cron(30 9 ? * MON,TUE,WED,THU,FRI *)"
    assert stop == "cron(5 18 ? * MON,TUE,WED,THU,FRI *)"


def test_overnight_window_stops_on_the_following_days() -> None:
    parsed = schedules.parse_schedule(
        {"timezone": "Europe/Paris", "start_time": "22:00", "end_time": "06:00", "days": ["sunday", "friday"]}
    )
    assert parsed.days == ("friday", "sunday")
    start, stop = schedules.expressions(parsed)
    assert start == "cron(0 22 ? * FRI,SUN *)"
    assert stop == "cron(0 6 ? * MON,SAT *)"


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "schedule.timezone"),
        ({"timezone": "../../etc/passwd"}, "schedule.timezone"),
        ({"timezone": ""}, "schedule.timezone"),
        ({"start_time": "24:00"}, "schedule.start_time"),
        ({"start_time": "9:00"}, "schedule.start_time"),
        ({"end_time": "18:60"}, "schedule.end_time"),
        ({"end_time": 1800}, "schedule.end_time"),
        ({"end_time": "10:00"}, "schedule.end_time"),
        ({"days": ["funday"]}, "schedule.days"),
        ({"days": ["monday", "monday"]}, "schedule.days"),
        ({"days": []}, "schedule.days"),
        ({"extra": 1}, "schedule.extra"),
    ],
)
def test_bad_schedules_name_the_field(change: dict[str, object], param: str) -> None:
    values = {"timezone": "UTC", "start_time": "10:00", "end_time": "18:00", "days": ["monday"], **change}
    with pytest.raises(BadRequestError) as caught:
        schedules.parse_schedule(values)
    assert caught.value.param == param and param in caught.value.message


def test_scaler_idle_after_timeout_counting_from_last_invocation() -> None:
    now = 1_000_000
    points = [(now - 4000, 0.0), (now - 3000, 3.0), (now - 2000, 0.0)]
    decision = scaler.decide(now=now, inactive_timeout=3600, deployed_at=now - 10_000, points=points)
    # the last busy minute ended at now - 2940: 2940 s idle, under the hour
    assert decision == scaler.IdleDecision(idle=False, last_access=now - 2940, idle_seconds=2940)
    later = scaler.decide(now=now + 700, inactive_timeout=3600, deployed_at=now - 10_000, points=points)
    assert later.idle and later.idle_seconds == 3640


def test_scaler_counts_from_deploy_when_never_invoked() -> None:
    now = 50_000
    fresh = scaler.decide(now=now, inactive_timeout=600, deployed_at=now - 599, points=[])
    assert not fresh.idle and fresh.last_access is None
    stale = scaler.decide(now=now, inactive_timeout=600, deployed_at=now - 600, points=[(now - 5000, 0.0)])
    assert stale.idle and stale.last_access is None
    # a reactivation resets the clock even when old traffic is in the window
    back = scaler.decide(now=now, inactive_timeout=600, deployed_at=now - 30, points=[(now - 5000, 9.0)])
    assert not back.idle and back.last_access == now - 4940


def test_metric_window_reaches_past_the_timeout() -> None:
    start, end = scaler.metric_window(10_000, 3600)
    assert end == 10_000 and start == 10_000 - 3600 - scaler.LOOKBACK_SLACK_SECONDS


@pytest.mark.parametrize("timeout", [-1, 0, 299, 7 * 24 * 3600 + 1])
def test_inactive_timeout_bounds(timeout: int) -> None:
    with pytest.raises(ValidationError) as caught:
        CreateDeploymentRequest.model_validate(
            {"training_job_id": "tr-x", "checkpoint": 1, "inactive_timeout": timeout}
        )
    assert caught.value.errors()[0]["loc"] == ("inactive_timeout",)


def test_deployment_request_defaults_and_refusals() -> None:
    body = CreateDeploymentRequest.model_validate({"training_job_id": "tr-x", "checkpoint": 2})
    assert body.inactive_timeout == 3600 and body.schedule is None and body.name is None
    for bad in (
        {"checkpoint": 1},
        {"training_job_id": "tr-x"},
        {"training_job_id": "tr-x", "checkpoint": -1},
    ):
        with pytest.raises(ValidationError):
            CreateDeploymentRequest.model_validate(bad)
    with pytest.raises(ValidationError):
        CreateDeploymentRequest.model_validate({"training_job_id": "t", "checkpoint": 1, "name": "a/b"})
    with pytest.raises(ValidationError):
        CreateDeploymentRequest.model_validate({"training_job_id": "t", "checkpoint": 1, "colour": "red"})


def test_engine_management_config_is_checked_against_its_type() -> None:
    ok = CreateEngineRequest.model_validate(
        {
            "base_model": "tiny-local",
            "resource_management_config": {
                "management_type": "inactive_timeout",
                "management_config": {"inactive_duration": 900},
            },
        }
    )
    assert ok.resource_management_config is not None
    for config in ({"inactive_duration": -5}, {"inactive_durations": 900}, {}):
        with pytest.raises(ValidationError):
            CreateEngineRequest.model_validate(
                {
                    "base_model": "tiny-local",
                    "resource_management_config": {
                        "management_type": "inactive_timeout",
                        "management_config": config,
                    },
                }
            )
    with pytest.raises(ValidationError):
        CreateEngineRequest.model_validate(
            {
                "base_model": "tiny-local",
                "resource_management_config": {
                    "management_type": "schedule",
                    "management_config": {"timezone": "UTC"},
                },
            }
        )
