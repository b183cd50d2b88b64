"""The one table from a Relay training status to OpenAI's fine-tuning status (pure, no IO).

Relay's Testing is OpenAI's `running`: the checkpoints are still being scored and registered,
so there is no fine-tuned model to call yet. `validating_files` is never stored: the files are
validated while the job is created, before it reaches the pipeline.
"""

from __future__ import annotations

from typing import Final

from relay.protocol.fine_tuning import FineTuningStatus
from relay.services.training import status as st

OPENAI_STATUS: Final[dict[st.TrainingStatus, FineTuningStatus]] = {
    st.PENDING: "queued",
    st.RUNNING: "running",
    st.TESTING: "running",
    st.SUCCESS: "succeeded",
    st.FAILED: "failed",
    st.TIMED_OUT: "failed",
    st.CANCELLED: "cancelled",
}
# The `error.code` of a job the pipeline ended without success.
ERROR_CODES: Final[dict[st.TrainingStatus, str]] = {
    st.FAILED: "training_failed",
    st.TIMED_OUT: "training_timed_out",
}
FINISHED: Final[frozenset[FineTuningStatus]] = frozenset({"succeeded", "failed", "cancelled"})


def openai_status(status: st.TrainingStatus) -> FineTuningStatus:
    return OPENAI_STATUS[status]
