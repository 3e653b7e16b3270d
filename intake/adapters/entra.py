"""App-only tokens from Microsoft Entra ID (client credentials) through msal.

msal keeps the token in its in-memory cache and hands it back until shortly before it expires,
so one ``ClientCredentials`` per worker makes one token request per hour, not one per call.
"""

from __future__ import annotations

import threading
from typing import Any

from intake.adapters.retry import DEFAULT_TIMEOUT
from intake.config import Settings
from intake.errors import ExternalRejected, ExternalUnavailable


class ClientCredentials:
    def __init__(
        self,
        *,
        authority_host: str,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        scope: str,
        system: str,
    ) -> None:
        self.authority = f"{authority_host.rstrip('/')}/{tenant_id}"
        self.client_id = client_id
        self._secret = client_secret
        self.scope = scope
        self.system = system
        self._app: Any = None
        self._lock = threading.Lock()
        # Steps run side by side: without this, two threads that miss msal's cache at once
        # would both ask Entra for a token. One asks; the other then finds it cached.
        self._token_lock = threading.Lock()

    def _client(self) -> Any:
        with self._lock:
            if self._app is None:
                import msal  # heavy: loaded on first use, not at cold start

                self._app = msal.ConfidentialClientApplication(
                    self.client_id,
                    client_credential=self._secret,
                    authority=self.authority,
                    # An explicit authority (national cloud, a test double) needs no discovery
                    # call to login.microsoftonline.com.
                    instance_discovery=False,
                    timeout=DEFAULT_TIMEOUT,  # every HTTP call msal makes, token included
                )
            return self._app

    def token(self) -> str:
        """An access token for ``scope``; raises our errors, never msal's (nor the secret)."""
        try:
            client = self._client()
            with self._token_lock:
                result = client.acquire_token_for_client(scopes=[self.scope])
        except Exception as exc:  # noqa: BLE001 - msal raises plain exceptions on network errors
            raise ExternalUnavailable(
                f"{self.system}: cannot reach {self.authority} for a token ({type(exc).__name__})",
                system=self.system,
            ) from None
        if "access_token" not in result:
            code = result.get("error", "unknown_error")
            raise ExternalRejected(
                f"{self.system}: token refused by {self.authority}: {code}", system=self.system
            )
        return str(result["access_token"])

    def probe(self) -> str:
        """Doctor: a token can be had (raises our error if not; the token is never shown)."""
        self.token()
        return f"app {self.client_id}, scope {self.scope}"


def graph_credentials(settings: Settings, *, system: str) -> ClientCredentials:
    """The Graph app's client credentials (mail and the scrum masters' group share the app)."""
    return ClientCredentials(
        authority_host=settings.login_authority,
        tenant_id=settings.graph_tenant_id,
        client_id=settings.graph_client_id,
        client_secret=settings.graph_client_secret.get_secret_value(),
        scope=settings.graph_scope,
        system=system,
    )
