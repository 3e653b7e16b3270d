"""``POST /api/messages``: check the activity and its token, then let the Agents SDK route each
card verb (``Action.Execute``) to a triage use case.

Every refusal is an ``IntakeError`` the trigger turns into the one problem shape; only the
answers Teams requires for a card action (``adaptiveCard/action``) are invoke answers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import azure.functions as func
from microsoft_agents.activity import Activity, ActivityTypes, AdaptiveCardInvokeResponse
from microsoft_agents.hosting.core import (
    AgentApplication,
    ClaimsIdentity,
    MemoryStorage,
    TurnContext,
    TurnState,
)
from microsoft_agents.hosting.core.app.adaptive_card import factory
from pydantic import ValidationError

from intake import bootstrap, triage
from intake.bot.hosting import (
    NEUTRAL_ANSWER,
    FunctionsAdapter,
    FunctionsRequest,
    InboundOnlyConnections,
    on_turn_error,
)
from intake.bot.token_check import BotTokenValidator
from intake.errors import IntakeError, InvalidActivity, RequestNotFound
from intake.models import DecisionKind, Thread, VoteChoice
from intake.ports import Services
from intake.submission import nesting_depth
from intake.triage_rules import Clicker

log = logging.getLogger(__name__)
# A Teams invoke is a few KiB (the card inputs are capped at 6,000 characters): refuse far
# larger or deeper bodies before parsing them, and before the token check spends a key lookup.
MAX_ACTIVITY_BYTES = 64 * 1024
MAX_ACTIVITY_NESTING = 64
CARD_ACTION = "adaptiveCard/action"  # the one invoke name Teams sends for Action.Execute
VERBS = ("vote", "refresh", "ask_client", *(kind.value for kind in DecisionKind))
NOT_ITS_CARD = "This card action does not come from its request's triage card."
__all__ = ["MAX_ACTIVITY_BYTES", "NEUTRAL_ANSWER", "TeamsBot", "current"]


class TeamsBot:
    """``POST /api/messages``: refuse what is not an activity we handle, check the token, then
    let the SDK route the activity."""

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
        """The SDK's answer; raises ``InvalidActivity`` or ``UnauthenticatedActivity``."""
        activity = read_activity(request.get_body())
        identity = ClaimsIdentity()  # anonymous: local mode only (no bot app id)
        if self.validator is not None:
            claims = await asyncio.to_thread(
                self.validator.validate, request.headers.get("Authorization"), activity
            )
            identity = ClaimsIdentity(claims, authentication_type="Bearer")
        answer = await self.adapter.process_request(
            FunctionsRequest(request, identity, activity), self.app
        )
        if answer.status_code == 501:  # no route: a verb or invoke we do not handle
            raise InvalidActivity(
                "Intake does not handle this activity.", status=422, slug="unsupported-activity"
            )
        if 400 <= answer.status_code < 500:
            raise InvalidActivity(f"The activity was refused: {answer.body or 'no reason'}.")
        if answer.body is None:
            return func.HttpResponse(status_code=answer.status_code)
        return func.HttpResponse(
            _dumps(answer.body), status_code=answer.status_code, mimetype="application/json"
        )


def read_activity(body: bytes) -> dict[str, Any]:
    """The body as an activity the SDK's model accepts and Intake handles; raises
    ``InvalidActivity`` (naming the field, never echoing its value) for anything else."""
    if len(body) > MAX_ACTIVITY_BYTES:
        raise InvalidActivity(
            f"An activity takes at most {MAX_ACTIVITY_BYTES} bytes.",
            status=413,
            slug="activity-too-large",
        )
    brackets = body.count(b"[") + body.count(b"{")  # at C speed: most bodies stop here
    if brackets > MAX_ACTIVITY_NESTING and nesting_depth(body) > MAX_ACTIVITY_NESTING:
        raise InvalidActivity("The body is not a JSON activity (nested too deeply).")
    try:
        activity = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise InvalidActivity("The body is not a JSON activity.") from None
    if not isinstance(activity, dict):
        raise InvalidActivity("The body is not a JSON activity (not an object).")
    try:
        model = Activity.model_validate(activity)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "activity"
        raise InvalidActivity(f"The activity's {field} is not valid: {first['msg']}.") from None
    except (TypeError, ValueError):  # the SDK's ChannelId raises these itself (a blank channelId)
        raise InvalidActivity("The activity's channelId is not valid.") from None
    # What the SDK needs for any turn (it builds a conversation reference and a Connector
    # client from them), checked here so that their absence is a 400, not a failed turn.
    if not model.conversation or not model.conversation.id:
        raise InvalidActivity("The activity has no conversation.id.")
    if model.recipient is None:
        raise InvalidActivity("The activity has no recipient.")
    service_url = urlsplit(model.service_url or "")
    if service_url.scheme not in ("https", "http") or not service_url.hostname:
        raise InvalidActivity("The activity's serviceUrl is not an http(s) URL.")
    if model.type == ActivityTypes.invoke:
        if model.name != CARD_ACTION:
            raise InvalidActivity(
                f"Intake handles only {CARD_ACTION} invokes.",
                status=422,
                slug="unsupported-activity",
            )
        value = model.value if isinstance(model.value, dict) else {}
        action = value.get("action")
        verb = action.get("verb") if isinstance(action, dict) else None
        if verb not in VERBS:
            raise InvalidActivity(
                "The card action's verb is not one of Intake's.",
                status=422,
                slug="unsupported-activity",
            )
    return activity


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _dumps(body: Any) -> str:
    return json.dumps(body)


_lock = threading.Lock()
_bot: TeamsBot | None = None


def current() -> TeamsBot:
    """The endpoint over the worker's services, built on first use (the Agents SDK loads then,
    not at cold start), and again when the services change (tests, the local host)."""
    global _bot
    services = bootstrap.services()
    with _lock:
        if _bot is None or _bot.services is not services:
            _bot = TeamsBot(services)
        return _bot


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
                # The request id is in the click's data, which the client sends: the click
                # counts only on the request whose card it comes from.
                card = await asyncio.to_thread(
                    _on_its_card, request_id, _source(context.activity), use_case, clicker, data
                )
            except RequestNotFound:
                return factory.bad_request("This card's request no longer exists.")
            except IntakeError as exc:
                log.warning("card action failed: %s", exc.title)
                return factory.message(NEUTRAL_ANSWER)
            if card is None:
                log.warning("card action refused: it names another request than its card's")
                return factory.bad_request(NOT_ITS_CARD)
            return factory.adaptive_card(card)  # type: ignore[arg-type]  # takes the dict

        return handler

    def _on_its_card(
        request_id: str,
        source: Thread | None,
        use_case: Callable[[str, Clicker, dict[str, Any]], dict[str, Any]],
        clicker: Clicker,
        data: dict[str, Any],
    ) -> dict[str, Any] | None:
        if source is None or triage.card_thread(request_id, services) != source:
            return None
        return use_case(request_id, clicker, data)

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

    def ask(request_id: str, clicker: Clicker, data: dict[str, Any]) -> dict[str, Any]:
        from intake import ask_client  # the card's other verbs' module stays small

        return ask_client.ask(request_id, clicker, data, services)

    app.adaptive_card.action_execute("ask_client")(card_action(ask))
    for kind in DecisionKind:

        def decide(
            request_id: str, clicker: Clicker, data: dict[str, Any], kind: DecisionKind = kind
        ) -> dict[str, Any]:
            return triage.decide(request_id, clicker, kind, data, services)

        app.adaptive_card.action_execute(kind.value)(card_action(decide))

    app.error(on_turn_error)
    return app


def _clicker(activity: Activity) -> Clicker | None:
    person = activity.from_property
    if person is None or not person.id:
        return None
    return Clicker(person.id, person.name or "Someone", person.aad_object_id or "")


def _source(activity: Activity) -> Thread | None:
    """The thread a click comes from: its conversation and the card's message id."""
    if activity.conversation is None or not activity.reply_to_id:
        return None
    return Thread(activity.conversation.id, activity.reply_to_id)
