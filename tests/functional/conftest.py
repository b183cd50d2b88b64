"""Fixtures the functional tests share beyond tests/conftest.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.sagemaker_models import register_all


@pytest.fixture(scope="module")
def sagemaker_models(client: Any, admin_key: str) -> None:
    """The emulated SageMaker endpoints registered as models (`pytest.mark.usefixtures` it)."""
    register_all(client, {"Authorization": f"Bearer {admin_key}"})
