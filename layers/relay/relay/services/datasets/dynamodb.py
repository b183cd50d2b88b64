"""DynamoDB adapter for datasets: items `PROJECT#<ms-id>` / `DATASET#<ds-id>`, moved by conditional writes."""

from __future__ import annotations

from relay.backends.dynamodb import ConditionFailed, dynamodb_errors, to_item
from relay.errors import RelayError
from relay.services.datasets import status as st
from relay.services.datasets.models import Dataset, DatasetRejection
from relay.services.datasets.repository import dataset_not_found, waiting_for_upload
from relay.services.layout import DATASET_SK_PREFIX, PROJECT_SK, dataset_sk, item_key, project_pk
from relay.services.projects.dynamodb import STATE_NAMES, ControlTable
from relay.services.projects.repository import project_not_found


class DynamoDBDatasetRepository(ControlTable):
    def add(self, dataset: Dataset) -> None:
        values = {"pk": project_pk(dataset.project_id), "sk": dataset_sk(dataset.id), **dataset.to_values()}

        def inactive_project(failed: ConditionFailed) -> RelayError | None:
            # The first item of the transaction is the project's `active` check.
            if failed.reasons and failed.reasons[0] == "ConditionalCheckFailed":
                return project_not_found(dataset.project_id)
            return None

        with dynamodb_errors(conflict=f"Dataset {dataset.id} already exists", on_condition=inactive_project):
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "ConditionCheck": {
                            "TableName": self._table,
                            "Key": item_key(project_pk(dataset.project_id), PROJECT_SK),
                            "ConditionExpression": "#state = :active",
                            "ExpressionAttributeNames": STATE_NAMES,
                            "ExpressionAttributeValues": {":active": {"S": "active"}},
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": to_item(values),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )

    def get(self, project_id: str, dataset_id: str) -> Dataset | None:
        values = self._get(project_pk(project_id), dataset_sk(dataset_id))
        return Dataset.from_values(values) if values else None

    def list(self, project_id: str) -> list[Dataset]:
        datasets = [Dataset.from_values(v) for v in self._partition(project_id, DATASET_SK_PREFIX)]
        return sorted(datasets, key=lambda d: (d.created_at, d.id))

    def mark_uploaded(self, dataset: Dataset, now: int) -> Dataset:
        if dataset.state not in st.COMPLETABLE:
            raise waiting_for_upload(dataset.id)
        with dynamodb_errors(conflict=waiting_for_upload(dataset.id).message):
            self._client.update_item(
                TableName=self._table,
                Key=item_key(project_pk(dataset.project_id), dataset_sk(dataset.id)),
                UpdateExpression=(
                    "SET #state = :uploaded, sha256 = :sha, #size = :size, #format = :format, "
                    "num_rows = :rows, object_key = :key, uploaded_at = :now, updated_at = :now "
                    "REMOVE expires_at"
                ),
                # The state it was read in, not any source of `uploaded`: the read verified those bytes.
                ConditionExpression="#state = :expected",
                ExpressionAttributeNames={**STATE_NAMES, "#format": "format", "#size": "size"},
                ExpressionAttributeValues=to_item(
                    {
                        ":uploaded": st.UPLOADED,
                        ":expected": dataset.state,
                        ":sha": dataset.sha256,
                        ":size": dataset.size,
                        ":format": dataset.format or "",
                        ":rows": dataset.num_rows or 0,
                        ":key": dataset.object_key,
                        ":now": now,
                    }
                ),
            )
        return self._reread(dataset.project_id, dataset.id)

    def _reread(self, project_id: str, dataset_id: str) -> Dataset:
        found = self.get(project_id, dataset_id)
        if found is None:
            raise dataset_not_found(dataset_id)
        return found

    def begin_verify(self, project_id: str, dataset_id: str, now: int) -> Dataset:
        self._set_state(
            project_pk(project_id),
            dataset_sk(dataset_id),
            st.VERIFYING,
            (st.PENDING,),
            now,
            conflict=waiting_for_upload(dataset_id).message,
        )
        return self._reread(project_id, dataset_id)

    def abort_verify(self, project_id: str, dataset_id: str, now: int) -> None:
        self._set_state(
            project_pk(project_id),
            dataset_sk(dataset_id),
            st.PENDING,
            (st.VERIFYING,),
            now,
            conflict=f"Dataset {dataset_id} is no longer being verified",
        )

    def mark_invalid(self, dataset: Dataset, error: DatasetRejection, now: int, expires_at: int) -> Dataset:
        with dynamodb_errors(conflict=f"Dataset {dataset.id} is no longer being verified"):
            self._client.update_item(
                TableName=self._table,
                Key=item_key(project_pk(dataset.project_id), dataset_sk(dataset.id)),
                UpdateExpression=(
                    "SET #state = :invalid, #error = :error, updated_at = :now, expires_at = :expires"
                ),
                ConditionExpression="#state = :verifying",
                ExpressionAttributeNames={**STATE_NAMES, "#error": "error"},
                ExpressionAttributeValues=to_item(
                    {
                        ":invalid": st.INVALID,
                        ":verifying": st.VERIFYING,
                        ":error": error.to_values(),
                        ":now": now,
                        ":expires": expires_at,
                    }
                ),
            )
        return self._reread(dataset.project_id, dataset.id)

    def begin_delete(self, project_id: str, dataset_id: str, now: int) -> Dataset:
        current = self.get(project_id, dataset_id)
        if current is None:
            raise dataset_not_found(dataset_id)
        # Conditioned on the state just read, so a concurrent upload completion or delete wins cleanly.
        self._set_state(
            project_pk(project_id),
            dataset_sk(dataset_id),
            st.DELETING,
            (current.state,),
            now,
            conflict=f"Dataset {dataset_id} changed while being deleted; try again",
        )
        return current

    def restore(self, dataset: Dataset) -> None:
        self._set_state(
            project_pk(dataset.project_id),
            dataset_sk(dataset.id),
            dataset.state,
            (st.DELETING,),
            dataset.updated_at,
            conflict="gone",
        )

    def remove(self, project_id: str, dataset_id: str) -> None:
        with dynamodb_errors():
            self._client.delete_item(
                TableName=self._table, Key=item_key(project_pk(project_id), dataset_sk(dataset_id))
            )
