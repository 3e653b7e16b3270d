"""The Microsoft 365 Agents SDK hosted in an Azure Functions HTTP trigger, inbound only.

The invoke's answer is the clicker's card (in the HTTP response), and the card for everyone
goes through the ``Channel`` port. So the SDK gets a connection manager whose tokens are empty:
a turn never needs Connector credentials, none are fetched on the invoke's path, and the
endpoint runs the same in local mode as in Azure.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import azure.functions as func
from microsoft_agents.activity import (
    Activity,
    ActivityTypes,
    AdaptiveCardInvokeResponse,
    InvokeResponse,
)
from microsoft_agents.hosting.core import (
    AnonymousTokenProvider,
    ClaimsIdentity,
    HttpAdapterBase,
    TurnContext,
)
from microsoft_agents.hosting.core.app.adaptive_card import factory
from microsoft_agents.hosting.core.authorization import AgentAuthConfiguration
from microsoft_agents.hosting.core.connector import ConnectorClientBase
from microsoft_agents.hosting.core.connector.client import UserTokenClient
from microsoft_agents.hosting.core.rest_channel_service_client_factory import (
    RestChannelServiceClientFactory,
)

log = logging.getLogger(__name__)
# With no app id (local mode) the SDK warns on every turn that its user-token client has none;
# this bot signs nobody in, so that warning says nothing.
logging.getLogger("microsoft_agents.hosting.core.connector.client.user_token_client").setLevel(
    logging.ERROR
)
NEUTRAL_ANSWER = "Sorry, that did not work. Please try again in a moment."


class FunctionsRequest:
    """An Azure Functions request as the SDK's ``HttpRequestProtocol`` (like the SDK's FastAPI
    and aiohttp request adapters), carrying the identity we validated."""

    def __init__(
        self, request: func.HttpRequest, identity: ClaimsIdentity, body: dict[str, Any]
    ) -> None:
        self._request = request
        self._identity = identity
        self._body = body

    @property
    def method(self) -> str:
        return str(self._request.method).upper()

    @property
    def headers(self) -> Mapping[str, str]:
        return dict(self._request.headers)

    async def json(self) -> dict[str, Any]:
        return self._body  # parsed and checked once, by the endpoint

    def get_claims_identity(self) -> ClaimsIdentity:
        return self._identity

    def get_path_param(self, name: str) -> str:
        return str(self._request.route_params.get(name, ""))


class InboundOnlyConnections:
    """The SDK's ``Connections`` for a bot that never calls the Connector within a turn."""

    def __init__(self) -> None:
        self._provider = AnonymousTokenProvider()

    def get_connection(self, connection_name: str) -> AnonymousTokenProvider:
        return self._provider

    def get_default_connection(self) -> AnonymousTokenProvider:
        return self._provider

    def get_token_provider(self, claims_identity: Any, service_url: str) -> Any:
        return self._provider

    def get_token_provider_from_activity(self, claims_identity: Any, activity: Any) -> Any:
        return self._provider

    def get_default_connection_configuration(self) -> AgentAuthConfiguration:
        return AgentAuthConfiguration()


class InboundOnlyClientFactory(RestChannelServiceClientFactory):
    """Connector and user-token clients without credentials, whatever the caller's identity:
    a turn here only answers its invoke (the SDK builds both clients for every turn, and would
    otherwise fetch two tokens on the invoke's path)."""

    async def create_connector_client(
        self,
        context: TurnContext | None,
        claims_identity: ClaimsIdentity,
        service_url: str,
        audience: str,
        scopes: list[str] | None = None,
        use_anonymous: bool = False,
    ) -> ConnectorClientBase:
        return await super().create_connector_client(
            context, claims_identity, service_url, audience, scopes, use_anonymous=True
        )

    async def create_user_token_client(
        self, context: TurnContext, claims_identity: ClaimsIdentity, use_anonymous: bool = False
    ) -> UserTokenClient:
        return await super().create_user_token_client(context, claims_identity, use_anonymous=True)


class FunctionsAdapter(HttpAdapterBase):
    """``HttpAdapterBase`` with a turn-error handler that tells the user nothing technical."""

    def __init__(self) -> None:
        super().__init__(
            channel_service_client_factory=InboundOnlyClientFactory(InboundOnlyConnections())
        )
        self.on_turn_error = on_turn_error


async def on_turn_error(context: TurnContext, error: Exception) -> None:
    """The adapter's and the application's error handler. Replaces the SDK defaults, which
    post the exception text into the channel: log it, answer a neutral sentence."""
    log.error("bot turn failed: %s", type(error).__name__, exc_info=error)
    if context.activity.type == ActivityTypes.invoke:
        await _answer(context, factory.message(NEUTRAL_ANSWER))


async def _answer(context: TurnContext, response: AdaptiveCardInvokeResponse) -> None:
    await context.send_activity(
        Activity(
            type=ActivityTypes.invoke_response,
            value=InvokeResponse(
                status=200, body=response.model_dump(mode="json", by_alias=True, exclude_none=True)
            ),
        )
    )
