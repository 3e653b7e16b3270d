"""Fixtures of the contract tests: Azurite for the Azure Storage adapters."""

from tests.contract.azurite import azurite  # noqa: F401 - registers the session fixture
