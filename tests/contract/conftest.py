"""Fixtures of the contract tests: Azurite for the Azure Storage adapters, and retries that
never sleep (the retry logic still runs; ``intake.adapters.retry.set_testing``)."""

from collections.abc import Iterator

import pytest

from intake.adapters import retry
from tests.contract.azurite import azurite  # noqa: F401 - registers the session fixture


@pytest.fixture(autouse=True)
def _no_retry_sleeps() -> Iterator[None]:
    retry.set_testing(True)
    yield
    retry.set_testing(False)
