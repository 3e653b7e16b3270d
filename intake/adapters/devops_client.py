"""The azure-devops SDK's 7.1 clients, set up the way Intake needs them.

What this adds to the SDK, and why:
- Auth by PAT (basic) or by a service principal: an Entra token from msal, fetched on every
  request from msal's cache (msal renews it before it expires).
- A timeout on every call, and no retries inside the SDK (urllib3 would otherwise retry 5xx
  three times under our own bounded ``with_retries``, and swallow ``Retry-After``).
- HTTP errors become ``intake.errors`` with the remote status and a short reason, raised by a
  response hook before the SDK turns them into exceptions that carry no status at all.
- The api-version of each operation is the one the 7.1 spec declares: the SDK (7.1.0b4) asks
  for ``7.1-preview.N`` of operations that 7.1 released (e.g. create work item).
- Base URLs only from settings and from the organisation's ResourceAreas answer, never the
  SDK's hard-coded ``app.vssps.visualstudio.com`` fallback (national clouds, a test double).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from intake.adapters.entra import ClientCredentials
from intake.adapters.retry import DEFAULT_TIMEOUT, error_for_status
from intake.config import Settings
from intake.errors import ExternalError, ExternalRejected, ExternalUnavailable

SYSTEM = "devops"
DEVOPS_SCOPE = "499b84ac-1321-427f-aa17-267ca6975798/.default"  # Azure DevOps' Entra app id

WIT_AREA = "5264459e-e5e0-4bd8-b118-0985e68a4ec5"
WORK_AREA = "1d4f49f9-02b9-4e26-b826-2cdb6195f2a9"
IDENTITY_AREA = "8a3d49b8-91f0-46ef-b33d-dda338c25db3"
CORE_AREA = "79134c72-4a58-4b42-976c-04e7115f32bf"
HOOKS_AREA = ""  # service hooks have no resource area: they answer at the organisation URL

# api-version per resource location we call, as declared by the 7.1 specs
# (wit-7.1-workItemTracking.json, work-7.1-work.json; identities: the ims 7.1 reference).
SPEC_VERSIONS = {
    "62d3d110-0047-428c-ad3c-4fe872c91c74": "7.1",  # POST workitems/${type}
    "72c7ddf8-2cdc-4f60-90cd-ab71c14a399b": "7.1",  # GET/PATCH workitems/{id}
    "608aac0a-32e1-4493-a863-b9cf4566d257": "7.1-preview.4",  # workItems/{id}/comments
    "1a9c53f7-f243-4447-b110-35ef023636e4": "7.1",  # POST {team}/_apis/wit/wiql
    "6570bf97-d02c-4a91-8d93-3abe9895b1a9": "7.1",  # GET workItems/{id}/updates
    "7c8d7a76-4a09-43e8-b5df-bd792f4ac6aa": "7.1",  # GET workitemtypes[/{type}]
    "7c9d7a76-4a09-43e8-b5df-bd792f4ac6aa": "7.1",  # GET workitemtypes/{type}/states
    "bd293ce5-3d25-4192-8e67-e8092e879efb": "7.1",  # GET workitemtypes/{type}/fields (doctor)
    "c9175577-28a1-4b06-9197-8636af9f64ad": "7.1",  # GET teamsettings/iterations
    "28010c54-d0c0-4c89-a5b0-1c9e188b9fb7": "7.1",  # GET _apis/identities (vssps)
    "e07b5fa4-1499-494d-a496-64b860fd64ff": "7.1",  # POST {project}/_apis/wit/attachments
    # Outside the pinned specs, as the 7.1 REST reference releases them (service hooks setup):
    "603fe2ac-9723-48b9-88ad-09305aa6c6e1": "7.1",  # GET _apis/projects/{project}
    "fc50d02a-849f-41fb-8af1-0a5216103269": "7.1",  # GET/POST/PUT _apis/hooks/subscriptions
}


class DevOpsClients:
    """Lazily built SDK clients for one organisation; thread-safe, one per worker."""

    def __init__(self, settings: Settings) -> None:
        self.org_url = settings.devops_org_url.rstrip("/")
        self._pat = settings.devops_pat.get_secret_value()
        # A service principal when there is no PAT (the settings refuse neither and both).
        self.entra: ClientCredentials | None = None
        if not self._pat:
            self.entra = ClientCredentials(
                authority_host=settings.login_authority,
                tenant_id=settings.devops_tenant_id,
                client_id=settings.devops_client_id,
                client_secret=settings.devops_client_secret.get_secret_value(),
                scope=DEVOPS_SCOPE,
                system=SYSTEM,
            )
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._area_urls: dict[str, str] | None = None

    def wit(self) -> Any:
        return self._client("wit", WIT_AREA)

    def work(self) -> Any:
        return self._client("work", WORK_AREA)

    def identity(self) -> Any:
        return self._client("identity", IDENTITY_AREA)

    def core(self) -> Any:
        return self._client("core", CORE_AREA)

    def hooks(self) -> Any:
        return self._client("hooks", HOOKS_AREA)

    def resource_areas(self) -> dict[str, str]:
        """Area id -> base URL, from ``GET {org}/_apis/ResourceAreas`` (once)."""
        with self._lock:
            if self._area_urls is None:
                from azure.devops.v7_1.location.location_client import LocationClient

                location = configure(LocationClient(self.org_url, self._credentials()))
                areas = sdk_call(location.get_resource_areas) or []
                self._area_urls = {a.id.lower(): a.location_url.rstrip("/") for a in areas}
            return self._area_urls

    def _credentials(self) -> Any:
        """msrest credentials: basic auth with the PAT, or a bearer token from Entra."""
        return _basic(self._pat) if self.entra is None else _bearer(self.entra)

    def _client(self, name: str, area: str) -> Any:
        urls = self.resource_areas()
        with self._lock:
            if name not in self._clients:
                # An organisation without the area (DevOps Server answers an empty list)
                # serves it at the organisation URL itself.
                base = urls.get(area, self.org_url)
                self._clients[name] = configure(_client_class(name)(base, self._credentials()))
            return self._clients[name]


def _client_class(name: str) -> Any:
    if name == "wit":
        from azure.devops.v7_1.work_item_tracking import WorkItemTrackingClient

        return WorkItemTrackingClient
    if name == "work":
        from azure.devops.v7_1.work import WorkClient

        return WorkClient
    if name == "core":
        from azure.devops.v7_1.core import CoreClient

        return CoreClient
    if name == "hooks":
        from azure.devops.v7_1.service_hooks import ServiceHooksClient

        return ServiceHooksClient
    from azure.devops.v7_1.identity import IdentityClient

    return IdentityClient


def configure(client: Any) -> Any:
    """Timeouts, no SDK retries, our errors, the spec's api-versions (before the first call)."""
    client.config.connection.timeout = DEFAULT_TIMEOUT
    client.config.retry_policy.retries = 0  # total, connect and read
    client.config.retry_policy.policy.status_forcelist = frozenset()
    client.config.hooks.append(raise_for_status)
    client.add_user_agent("intake")
    send = client._send

    def send_at_spec_version(
        http_method: str, location_id: str, version: str, *args: Any, **kwargs: Any
    ) -> Any:
        return send(
            http_method, location_id, SPEC_VERSIONS.get(location_id, version), *args, **kwargs
        )

    client._send = send_at_spec_version
    return client


def raise_for_status(response: Any, *args: Any, **kwargs: Any) -> Any:
    """requests response hook: an error answer becomes our exception, with a short reason."""
    status = int(response.status_code)
    content_type = response.headers.get("Content-Type", "")
    if status == 203 and "html" in content_type:
        # DevOps answers a bad or expired credential with a 203 sign-in page.
        raise ExternalRejected(
            f"{SYSTEM} answered 203 (a sign-in page): the credentials were not accepted",
            system=SYSTEM,
            remote_status=203,
        )
    if status < 400:
        return response
    path = urlsplit(response.request.url).path if response.request is not None else ""
    reason = f"{response.request.method if response.request else ''} {path}: {_reason(response)}"
    raise error_for_status(status, reason.strip(), system=SYSTEM, headers=response.headers)


def _reason(response: Any) -> str:
    """DevOps' own message (``{"message": ..., "typeKey": ...}``), else the HTTP reason."""
    try:
        body = json.loads(response.content or b"{}")
    except ValueError:
        body = {}
    if isinstance(body, dict) and body.get("message"):
        key = f" [{body['typeKey']}]" if body.get("typeKey") else ""
        return f"{str(body['message'])[:200]}{key}"
    return str(response.reason or "no reason given")


def sdk_call(call: Callable[[], Any]) -> Any:
    """Run one SDK call; whatever the SDK raises becomes one of our errors."""
    from azure.core.exceptions import DeserializationError
    from azure.devops.exceptions import AzureDevOpsServiceError
    from msrest.exceptions import ClientException, ClientRequestError

    try:
        return call()
    except ExternalError:
        raise
    except AzureDevOpsServiceError as exc:  # only if the hook missed it: no status to read
        if exc.type_key == "TestPatchOperationFailedException":
            raise error_for_status(412, str(exc.message)[:200], system=SYSTEM) from None
        raise ExternalRejected(f"{SYSTEM}: {str(exc.message)[:200]}", system=SYSTEM) from None
    except DeserializationError:
        raise ExternalRejected(
            f"{SYSTEM}: an answer that is not DevOps JSON", system=SYSTEM
        ) from None
    except ClientRequestError as exc:  # connection refused, DNS, timeout (wrapped by msrest)
        cause = type(exc.inner_exception or exc).__name__
        raise ExternalUnavailable(f"{SYSTEM}: no answer ({cause})", system=SYSTEM) from None
    except ClientException as exc:
        raise ExternalUnavailable(f"{SYSTEM}: {type(exc).__name__}", system=SYSTEM) from None


def _basic(pat: str) -> Any:
    from msrest.authentication import BasicAuthentication

    return BasicAuthentication("", pat)


def _bearer(entra: ClientCredentials) -> Any:
    from msrest.authentication import Authentication

    class EntraBearer(Authentication):
        """Sets a current token on every request: msal hands back its cached one."""

        def signed_session(self, session: Any = None) -> Any:
            session = super().signed_session(session)
            session.headers["Authorization"] = f"Bearer {entra.token()}"
            return session

    return EntraBearer()
