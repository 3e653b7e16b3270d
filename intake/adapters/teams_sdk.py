"""The Agents SDK pieces the Teams channel adapter plugs together (imported on first use only).

The SDK's own token path (``MsalAuth``) cannot be pointed at another login authority without
reaching into its private client builder, and it asks msal for instance discovery on
login.microsoftonline.com. So the bot's token comes from ``intake.adapters.entra`` (msal,
authority from settings, no discovery) behind the SDK's ``AccessTokenProviderBase``; and the
connector client is built with a timeout, which the SDK's default factory does not set.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from microsoft_agents.activity import Activity
from microsoft_agents.hosting.core import (
    AgentAuthConfiguration,
    ChannelServiceAdapter,
    ClaimsIdentity,
    RestChannelServiceClientFactory,
    TurnContext,
)
from microsoft_agents.hosting.core.connector import ConnectorClientBase
from microsoft_agents.hosting.core.connector.teams import TeamsConnectorClient

from intake.adapters.entra import ClientCredentials


class BotTokenProvider:
    """The SDK's token provider protocol over our client-credentials helper."""

    def __init__(self, credentials: ClientCredentials, tenant_id: str) -> None:
        self.credentials = credentials
        self._configuration = AgentAuthConfiguration(
            client_id=credentials.client_id, tenant_id=tenant_id
        )

    @property
    def configuration(self) -> AgentAuthConfiguration:
        return self._configuration

    async def get_access_token(
        self, resource_url: str, scopes: list[str], force_refresh: bool = False
    ) -> str:
        # Always the configured scope: the SDK derives its scope from the public cloud's
        # constants, which would be wrong for a national cloud.
        return await asyncio.to_thread(self.credentials.token)

    def get_token_credential(self) -> Any:
        raise NotImplementedError("Intake needs bot tokens only for the Bot Connector")


class SingleConnection:
    """The SDK's ``Connections``: one bot identity for everything."""

    def __init__(self, provider: BotTokenProvider) -> None:
        self.provider = provider

    def get_connection(self, connection_name: str) -> BotTokenProvider:
        return self.provider

    def get_default_connection(self) -> BotTokenProvider:
        return self.provider

    def get_token_provider(self, claims_identity: Any, service_url: str) -> BotTokenProvider:
        return self.provider

    def get_token_provider_from_activity(
        self, claims_identity: Any, activity: Any
    ) -> BotTokenProvider:
        return self.provider

    def get_default_connection_configuration(self) -> AgentAuthConfiguration:
        return self.provider.configuration


class TimedClientFactory(RestChannelServiceClientFactory):
    """The SDK's REST client factory, with a connect and read timeout on every connector call."""

    def __init__(self, connections: SingleConnection, timeout: tuple[float, float]) -> None:
        super().__init__(connections)  # type: ignore[arg-type]
        self.connections = connections
        self.timeout = aiohttp.ClientTimeout(sock_connect=timeout[0], sock_read=timeout[1])

    async def create_connector_client(
        self,
        context: TurnContext | None,
        claims_identity: ClaimsIdentity,
        service_url: str,
        audience: str,
        scopes: list[str] | None = None,
        use_anonymous: bool = False,
    ) -> ConnectorClientBase:
        token = await self.connections.provider.get_access_token(audience, scopes or [])
        endpoint = service_url if service_url.endswith("/") else service_url + "/"
        session = aiohttp.ClientSession(base_url=endpoint, timeout=self.timeout)
        return TeamsConnectorClient(endpoint=endpoint, token=token, session=session)


class ProactiveAdapter(ChannelServiceAdapter):
    """A channel adapter for proactive calls only (no inbound HTTP; that is /api/messages).

    ``on_turn_error`` stays None, so a failed call inside a turn reaches our caller instead of
    being posted into the channel as text.
    """


def card_activity(card: dict[str, Any], **fields: Any) -> Activity:
    """A message activity holding one Adaptive Card."""
    return Activity.model_validate(
        {
            "type": "message",
            "attachments": [
                {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
            ],
            **fields,
        }
    )
