"""A `fine-tune` file from the Files API, copied into a chat dataset of the job's project.

The dataset path validates it line by line (`services/datasets/validation.py`); a file it
refuses is not an error of the request but a job that fails, with OpenAI's error code and the
numbered lines in the message, as OpenAI reports an invalid training file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from relay.errors import BadRequestError, NotFoundError
from relay.services.datasets.models import Dataset
from relay.services.files.models import StoredFile
from relay.services.fine_tuning.models import JobError
from relay.services.fine_tuning.rft_lines import to_prompt_completion
from relay.services.keys.models import Principal

FINE_TUNE_PURPOSE = "fine-tune"
ERROR_CODES = {"training_file": "invalid_training_file", "validation_file": "invalid_validation_file"}


class FileSource(Protocol):
    def get(self, owner: str, file_id: str) -> StoredFile: ...
    def read_lines_source(self, owner: str, file_id: str) -> tuple[StoredFile, Iterator[bytes]]: ...


class DatasetSink(Protocol):
    def upload(
        self, project_id: str, principal: Principal, *, filename: str | None, content: bytes, name: str | None
    ) -> Dataset: ...


class DatasetRemover(Protocol):
    def delete(self, project_id: str, dataset_id: str, principal: Principal) -> None: ...


@dataclass(frozen=True)
class Imported:
    dataset: Dataset | None
    error: JobError | None


class TrainingFiles:
    def __init__(
        self, files: FileSource, uploads: DatasetSink, datasets: DatasetRemover, max_bytes: int
    ) -> None:
        self._files = files
        self._uploads = uploads
        self._datasets = datasets
        self._max_bytes = max_bytes

    def check(self, principal: Principal, file_id: str, param: str) -> StoredFile:
        """The caller's `fine-tune` file, or a 400 naming `param` (checked before any job exists)."""
        try:
            record = self._files.get(principal.key_id, file_id)
        except NotFoundError:
            raise BadRequestError(f"{param}: no file '{file_id}'", param=param, code="invalid_file") from None
        if record.purpose != FINE_TUNE_PURPOSE:
            raise BadRequestError(
                f"{param}: file '{file_id}' has purpose '{record.purpose}'; upload it with purpose "
                f"'{FINE_TUNE_PURPOSE}'",
                param=param,
                code="invalid_file",
            )
        if record.bytes > self._max_bytes:
            raise BadRequestError(
                f"{param}: file '{file_id}' is {record.bytes} bytes; fine-tuning files can be at most "
                f"{self._max_bytes} bytes here (larger ones: a dataset through "
                "POST /v1/projects/{project_id}/datasets/uploads and a training job)",
                param=param,
                code="invalid_file",
            )
        return record

    def import_file(
        self,
        principal: Principal,
        project_id: str,
        file_id: str,
        param: str,
        reference_field: str | None = None,
    ) -> Imported:
        """Copy the file into a dataset of the project; an invalid one comes back as the job's error.

        With `reference_field` the lines are reinforcement lines, stored as prompt/completion rows.
        """
        record, chunks = self._files.read_lines_source(principal.key_id, file_id)
        content = b"".join(chunks)
        wanted = "chat"
        if reference_field is not None:
            wanted = "prompt_completion"
            content, report = to_prompt_completion(content, reference_field)
            if not report.ok:
                return Imported(None, self._refused(file_id, param, report.summary()))
        try:
            dataset = self._uploads.upload(
                project_id,
                principal,
                filename=f"{file_id}.jsonl",  # the extension makes the validator read JSONL
                content=content,
                name=f"{record.filename} ({file_id})",
            )
        except BadRequestError as exc:
            if exc.code != "invalid_dataset":
                raise
            return Imported(None, self._refused(file_id, param, exc.message))
        if dataset.format != wanted:
            self._datasets.delete(project_id, dataset.id, principal)
            return Imported(
                None,
                self._refused(
                    file_id,
                    param,
                    f"its lines are {dataset.format} rows; supervised fine-tuning needs chat lines "
                    '{"messages": [{"role": ..., "content": ...}, ...]}',
                ),
            )
        return Imported(dataset, None)

    @staticmethod
    def _refused(file_id: str, param: str, detail: str) -> JobError:
        return JobError(
            code=ERROR_CODES[param],
            message=f"The job failed due to an invalid {param.replace('_', ' ')} ({file_id}): {detail}",
            param=param,
        )
