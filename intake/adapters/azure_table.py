"""The requests' table as both Table Storage adapters (``TableStore``, ``TableFollowUps``) reach
it: a client made on first use (with the table, if missing), every call through
``azure_storage.call`` (our retries and errors), and the two reads and writes that answer a lost
race instead of raising: a point read of a missing row, an insert of a row that exists."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableClient, TableEntity

from intake.adapters import azure_storage
from intake.config import Settings

SYSTEM = "Table Storage"


def table_client(settings: Settings) -> TableClient:
    """A client of ``settings.table_name``, by connection string or managed identity."""

    def connect() -> TableClient:
        if settings.storage_connection_string.get_secret_value():
            return TableClient.from_connection_string(
                azure_storage.connection_string(settings),
                table_name=settings.table_name,
                **azure_storage.CLIENT_OPTIONS,
            )
        return TableClient(
            endpoint=azure_storage.account_url(settings, "table"),
            table_name=settings.table_name,
            credential=azure_storage.credential(),
            **azure_storage.CLIENT_OPTIONS,
        )

    with azure_storage.storage_errors(SYSTEM):
        return connect()


class TableRows:
    """Base of the Table adapters: the table and the row operations they share."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._table: TableClient | None = None
        self._lock = threading.Lock()

    def table(self) -> TableClient:
        """The table client, created (with the table, if missing) on first use."""
        with self._lock:  # the workflow runs independent steps on threads
            if self._table is None:
                table = table_client(self.settings)
                azure_storage.create_if_missing(SYSTEM, table.create_table)
                self._table = table
            return self._table

    def _run(self, operation: Callable[[TableClient], Any]) -> Any:
        table = self.table()
        return azure_storage.call(SYSTEM, lambda: operation(table))

    def _get(self, partition: str, row: str) -> TableEntity | None:
        """The row, or None when there is none."""

        def get(table: TableClient) -> TableEntity | None:
            try:
                return table.get_entity(partition, row)
            except ResourceNotFoundError:
                return None

        result: TableEntity | None = self._run(get)
        return result

    def _insert(self, entity: dict[str, Any]) -> bool:
        """Insert ``entity``; False when its row exists (another writer got there first)."""

        def insert(table: TableClient) -> bool:
            try:
                table.create_entity(entity)
            except ResourceExistsError:
                return False
            return True

        return bool(self._run(insert))
