"""What the Table and Queue adapters share: how to reach the account, and its errors as ours.

The account is reached by connection string (``INTAKE_STORAGE_CONNECTION_STRING``; Azurite in
tests) or by name with the Function App's managed identity (``INTAKE_STORAGE_ACCOUNT_NAME``,
``DefaultAzureCredential``). The SDK's own retries are off: ``with_retries`` retries (without
sleeping under ``set_testing``), so a call that fails takes seconds, not the SDK's minutes.
Neither the connection string nor a URL ever goes into an error message: a SAS string would
carry its signature in both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ServiceRequestError,
    ServiceResponseError,
)

from intake.adapters.retry import error_for_status, with_retries
from intake.config import Settings
from intake.errors import ExternalRejected, ExternalUnavailable

T = TypeVar("T")

# Every call: at most 5 s to connect and 20 s per read, no SDK retries (ours retry instead).
CLIENT_OPTIONS: dict[str, Any] = {"connection_timeout": 5, "read_timeout": 20, "retry_total": 0}


def account_url(settings: Settings, service: str) -> str:
    """``https://<account>.<service>.core.windows.net`` for identity-based access."""
    return f"https://{settings.storage_account_name}.{service}.core.windows.net"


def credential() -> Any:
    """The Function App's identity (managed identity in Azure; ``az login`` on a laptop).

    A user-assigned identity is picked by ``AZURE_CLIENT_ID``, as azure-identity documents."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def connection_string(settings: Settings) -> str:
    return settings.storage_connection_string.get_secret_value()


@contextmanager
def storage_errors(system: str) -> Iterator[None]:
    """Turn what the Azure SDK raises into ``intake.errors``: transient or permanent."""
    try:
        yield
    except ValueError:
        # from_connection_string's complaint; its text never includes the string, ours neither
        raise ExternalRejected(
            f"{system}: the storage connection string is malformed", system=system
        ) from None
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise ExternalUnavailable(
            f"{system} is unreachable ({type(exc).__name__})", system=system
        ) from None
    except ClientAuthenticationError as exc:
        if exc.status_code is None:  # no token: the identity is missing or not allowed
            raise ExternalRejected(
                f"{system}: no token for the storage account ({type(exc).__name__})",
                system=system,
            ) from None
        raise _http_error(exc, system) from None
    except HttpResponseError as exc:
        raise _http_error(exc, system) from None


def _http_error(exc: HttpResponseError, system: str) -> Exception:
    status = exc.status_code or 0
    error_code = getattr(exc, "error_code", None)  # may be an enum: TableErrorCode.X
    code = str(getattr(error_code, "value", error_code) or exc.reason or "error")
    if status == 412:  # an ETag kept changing under us: try again later
        return ExternalUnavailable(f"{system} answered 412: {code}", system=system)
    response: Any = exc.response
    headers = dict(response.headers) if response is not None else None
    return error_for_status(status, code, system=system, headers=headers)


def call(system: str, operation: Callable[[], T]) -> T:
    """Run one SDK operation with our retries and our errors."""

    def attempt() -> T:
        with storage_errors(system):
            return operation()

    return with_retries(attempt, system=system)


def create_if_missing(system: str, create: Callable[[], object]) -> None:
    """Create a table or queue on first use. One that exists is fine, and so is a role that
    may not create (403): it may still use one the deployment created."""

    def attempt() -> None:
        try:
            create()
        except ResourceExistsError:
            pass
        except HttpResponseError as exc:
            if exc.status_code != 403:
                raise

    call(system, attempt)
