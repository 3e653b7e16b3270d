"""The bot endpoint's SDK wiring: the Microsoft 365 Agents SDK hosted in an Azure Functions
HTTP trigger, routing each card verb (``Action.Execute``) to a triage use case.

Inbound only: the invoke's answer is the clicker's card (in the HTTP response), and the card
for everyone goes through the ``Channel`` port. So the SDK gets a connection manager whose
tokens are empty: a turn never needs Connector credentials, none are fetched on the invoke's
path, and the endpoint runs the same in local mode as in Azure.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import azure.functions as func
from microsoft_agents.activity import (
    Activity,
    ActivityTypes,
    AdaptiveCardInvokeResponse,
    InvokeResponse,
)
from microsoft_agents.hosting.core import (
    AgentApplication,
    AnonymousTokenProvider,
    ClaimsIdentity,
    HttpAdapterBase,
    MemoryStorage,
    TurnContext,
    TurnState,
)
from microsoft_agents.hosting.core.app.adaptive_card import factory
from microsoft_agents.hosting.core.authorization import AgentAuthConfiguration
from microsoft_agents.hosting.core.connector import ConnectorClientBase
from microsoft_agents.hosting.core.connector.client import UserTokenClient
from microsoft_agents.hosting.core.rest_channel_service_client_factory import (
    RestChannelServiceClientFactory,
)

from intake import triage
from intake.adapters.bot_auth import BotTokenValidator
from intake.errors import IntakeError, RequestNotFound, UnauthenticatedActivity
from intake.models import DecisionKind, VoteChoice
from intake.ports import Services
from intake.submission import nesting_depth
from intake.triage_rules import Clicker

log = logging.getLogger(__name__)
# With no app id (local mode) the SDK warns on every turn that its user-token client has none;
# this bot signs nobody in, so that warning says nothing.
logging.getLogger("microsoft_agents.hosting.core.connector.client.user_token_client").setLevel(
    logging.ERROR
)
NEUTRAL_ANSWER = "Sorry, that did not work. Please try again in a moment."
# A Teams invoke is a few KiB (the card inputs are capped at 6,000 characters): refuse far
# larger or deeper bodies before parsing them, and before the token check spends a key lookup.
MAX_ACTIVITY_BYTES = 64 * 1024
MAX_ACTIVITY_NESTING = 64


class FunctionsRequest:
    """An Azure Functions request as the SDK's ``HttpRequestProtocol`` (like the SDK's FastAPI
    and aiohttp request adapters), carrying the identity we validated."""

    def __init__(self, request: func.HttpRequest, identity: ClaimsIdentity) -> None:
        self._request = request
        self._identity = identity

    @property
    def method(self) -> str:
        return str(self._request.method).upper()

    @property
    def headers(self) -> Mapping[str, str]:
        return dict(self._request.headers)

    async def json(self) -> dict[str, Any]:
        body: dict[str, Any] = self._request.get_json()
        return body

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


class TeamsBot:
    """``POST /api/messages``: check the token, then let the SDK route the activity."""

    def __init__(self, services: Services) -> None:
        self.services = services
        settings = services.settings
        self.validator: BotTokenValidator | None = None
        if settings.uses_bot:  # with an app id every activity must carry a valid token
            self.validator = BotTokenValidator(
                app_id=settings.bot_app_id,
                tenant_id=settings.bot_tenant_id,
                metadata_url=settings.bot_openid_metadata_url,
            )
        self.adapter = FunctionsAdapter()
        self.app = build_application(services)

    async def handle(self, request: func.HttpRequest) -> func.HttpResponse:
        body = request.get_body()
        if len(body) > MAX_ACTIVITY_BYTES:
            return _json(413, {"error": f"An activity takes at most {MAX_ACTIVITY_BYTES} bytes."})
        brackets = body.count(b"[") + body.count(b"{")  # at C speed: most bodies stop here
        if brackets > MAX_ACTIVITY_NESTING and nesting_depth(body) > MAX_ACTIVITY_NESTING:
            return _json(400, {"error": "The body is not a JSON activity."})
        try:
            activity = request.get_json()
            if not isinstance(activity, dict):
                raise ValueError("not an object")
        except ValueError:
            return _json(400, {"error": "The body is not a JSON activity."})
        identity = ClaimsIdentity()  # anonymous: local mode only (no bot app id)
        if self.validator is not None:
            try:
                claims = await asyncio.to_thread(
                    self.validator.validate, request.headers.get("Authorization"), activity
                )
            except UnauthenticatedActivity as exc:
                return _json(401, {"error": exc.detail})
            identity = ClaimsIdentity(claims, authentication_type="Bearer")
        answer = await self.adapter.process_request(FunctionsRequest(request, identity), self.app)
        if answer.body is None:
            return func.HttpResponse(status_code=answer.status_code)
        return _json(answer.status_code, answer.body)


Handler = Callable[[TurnContext, TurnState, Any], Awaitable[AdaptiveCardInvokeResponse]]


def build_application(services: Services) -> AgentApplication[TurnState]:
    """The AgentApplication: one handler per card verb, each calling one triage use case."""
    app: AgentApplication[TurnState] = AgentApplication[TurnState](
        storage=MemoryStorage(),
        connection_manager=InboundOnlyConnections(),
        start_typing_timer=False,  # else invokes over 500 ms post "typing" into the channel
    )

    def card_action(use_case: Callable[[str, Clicker, dict[str, Any]], dict[str, Any]]) -> Handler:
        async def handler(
            context: TurnContext, state: TurnState, data: Any
        ) -> AdaptiveCardInvokeResponse:
            data = data if isinstance(data, dict) else {}
            request_id = str(data.get("requestId") or "")
            clicker = _clicker(context.activity)
            if not request_id or clicker is None:
                return factory.bad_request("The card action has no request or no user.")
            try:
                card = await asyncio.to_thread(use_case, request_id, clicker, data)
            except RequestNotFound:
                return factory.bad_request("This card's request no longer exists.")
            except IntakeError as exc:
                log.warning("card action failed: %s", exc.title)
                return factory.message(NEUTRAL_ANSWER)
            return factory.adaptive_card(card)  # type: ignore[arg-type]  # takes the dict

        return handler

    def vote(request_id: str, clicker: Clicker, data: dict[str, Any]) -> dict[str, Any]:
        try:
            choice = VoteChoice(str(data.get("vote")))
        except ValueError:
            return triage.view(request_id, clicker, services, notice="Unknown vote.")
        # The clicker's card is in the answer; everyone else's follows right after it.
        return triage.record_vote(request_id, clicker, choice, services, publish_queued=True)

    def refresh(request_id: str, clicker: Clicker, data: dict[str, Any]) -> dict[str, Any]:
        return triage.view(request_id, clicker, services)

    app.adaptive_card.action_execute("vote")(card_action(vote))
    app.adaptive_card.action_execute("refresh")(card_action(refresh))
    for kind in DecisionKind:

        def decide(
            request_id: str, clicker: Clicker, data: dict[str, Any], kind: DecisionKind = kind
        ) -> dict[str, Any]:
            return triage.decide(request_id, clicker, kind, data, services)

        app.adaptive_card.action_execute(kind.value)(card_action(decide))

    app.error(on_turn_error)
    return app


async def on_turn_error(context: TurnContext, error: Exception) -> None:
    """The adapter's and the application's error handler. Replaces the SDK defaults, which
    post the exception text into the channel: log it, answer a neutral sentence."""
    log.error("bot turn failed: %s", type(error).__name__, exc_info=error)
    if context.activity.type == ActivityTypes.invoke:
        await _answer(context, factory.message(NEUTRAL_ANSWER))


def _clicker(activity: Activity) -> Clicker | None:
    person = activity.from_property
    if person is None or not person.id:
        return None
    return Clicker(person.id, person.name or "Someone", person.aad_object_id or "")


async def _answer(context: TurnContext, response: AdaptiveCardInvokeResponse) -> None:
    await context.send_activity(
        Activity(
            type=ActivityTypes.invoke_response,
            value=InvokeResponse(
                status=200, body=response.model_dump(mode="json", by_alias=True, exclude_none=True)
            ),
        )
    )


def _json(status: int, body: Any) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")
