"""The deployer: `DeploymentWorker.handle(event)` for the state machine's steps, the scaler, schedules,
reactivation requests from the data plane, and engine teardown.

State machine steps (`step` set) answer `{"done", "wait_seconds", "status"}`: the action step
starts SageMaker work, `poll` advances it, `timeout` and `fail` end it and remove what it
made. Every step is idempotent (it reads SageMaker before creating), so Lambda retries and
repeated polls converge.
"""

from __future__ import annotations

from typing import Any

from relay.observability import logger
from relay.services.deployments import status as st
from relay.services.deployments.lifecycle import Lifecycle
from relay.services.deployments.models import Deployment
from relay.services.deployments.repository import DeploymentRepository
from relay.services.deployments.resources import Resources
from relay.services.deployments.scaling import Scaler


class DeploymentWorker:
    def __init__(
        self, *, lifecycle: Lifecycle, resources: Resources, scaler: Scaler, poll_seconds: int
    ) -> None:
        self.lifecycle = lifecycle
        self.deployments: DeploymentRepository = lifecycle.deployments
        self.hosting = resources
        self.scaler = scaler
        self.poll_seconds = poll_seconds

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        step, action = event.get("step"), event.get("action")
        if step:
            deployment = self.deployments.get(str(event["project_id"]), str(event["deployment_id"]))
            if deployment is None:
                # Nothing to drive (a record discarded by a failed create): end the execution.
                return self._answer(True, "Terminated")
            if step == "poll":
                return self._poll(deployment, str(action))
            if step == "timeout":
                return self._end(
                    deployment, st.TIMED_OUT, "SageMaker did not finish within the deployment time limit"
                )
            if step == "fail":
                return self._end(deployment, st.FAILED, _reason(event.get("error")))
            return self._begin(deployment, str(step))
        if action == "scale":
            return self.scaler.scale()
        if action == "schedule":
            return self.scaler.scheduled(
                str(event["target"]), str(event["id"]), str(event["state"]), event.get("project_id")
            )
        if action == "reactivate":
            deployment = self.deployments.get(str(event["project_id"]), str(event["deployment_id"]))
            started = deployment is not None and deployment.status == st.DEACTIVATED
            started = started and self.lifecycle.start_reactivation(deployment)  # type: ignore[arg-type]
            return {"started": bool(started)}
        if action == "delete_engine":
            return self.hosting.delete_engine(str(event["engine_id"]))
        raise ValueError(f"unknown deployer event: step={step!r} action={action!r}")

    def _answer(self, done: bool, status: str) -> dict[str, Any]:
        return {"done": done, "wait_seconds": self.poll_seconds, "status": status}

    def _begin(self, deployment: Deployment, action: str) -> dict[str, Any]:
        if action == "create":
            if deployment.status == st.PENDING:
                moved = self.lifecycle.try_move(deployment, st.DEPLOYING)
                deployment = moved or self.deployments.get(deployment.project_id, deployment.id) or deployment
            if deployment.status != st.DEPLOYING:
                return self._poll(deployment, action)
            self.hosting.start_create(deployment)
        elif action == "reactivate":
            if deployment.status == st.REACTIVATING:
                self.hosting.set_copies(deployment, 1)
                self._wake_base(deployment)
        elif action == "delete":
            self.hosting.remove(deployment)
        else:
            raise ValueError(f"unknown deployment action {action!r}")
        return self._answer(False, deployment.status)

    def _wake_base(self, adapter: Deployment) -> None:
        """An adapter serves only while its base component has copies: reactivate the base too."""
        if not adapter.base_component:
            return
        for other in self.deployments.on_engine(adapter.engine_id):
            if (
                self.hosting.names.component(other.id) == adapter.base_component
                and other.status == st.DEACTIVATED
            ):
                self.lifecycle.start_reactivation(other)

    def _poll(self, deployment: Deployment, action: str) -> dict[str, Any]:
        if action == "delete" or st.is_terminal(deployment.status):
            # Deleted (or ended) while this ran: remove what exists, finish once it is gone.
            gone = self.hosting.remove(deployment)
            return self._answer(gone, deployment.status)
        if action == "create" and deployment.status == st.DEPLOYING:
            progress = self.hosting.advance_create(deployment)
        elif action == "reactivate" and deployment.status == st.REACTIVATING:
            progress = self.hosting.advance_reactivate(deployment)
        else:
            return self._answer(True, deployment.status)
        if progress.failure:
            return self._end(deployment, st.FAILED, progress.failure)
        if progress.ready:
            moved = self.lifecycle.try_move(deployment, st.DEPLOYED, deployed_at=self.lifecycle.now())
            if moved is None:  # deleted meanwhile: the next poll removes it
                return self._answer(False, deployment.status)
            return self._answer(True, moved.status)
        return self._answer(False, deployment.status)

    def _end(self, deployment: Deployment, target: str, reason: str) -> dict[str, Any]:
        """Failed or TimedOut with the reason, and remove what the action made."""
        if st.can_transition(deployment.status, target):
            moved = self.lifecycle.try_move(deployment, target, failure_reason=reason[:1000])
            deployment = moved or deployment
            logger.warning(
                "deployment ended", extra={"deployment": deployment.id, "status": target, "reason": reason}
            )
        if not self.hosting.remove(deployment):
            # Components take a while to delete and this step is the execution's last: a delete
            # execution polls until the component, then the model and an idle endpoint, are gone.
            self.lifecycle.start(deployment, "delete")
        return self._answer(True, deployment.status)


def _reason(error: Any) -> str:
    """The Step Functions catch (`{"Error", "Cause"}`) as one line."""
    if isinstance(error, dict):
        return ": ".join(str(error[k]) for k in ("Error", "Cause") if error.get(k)) or "the deployment failed"
    return str(error or "the deployment failed")
