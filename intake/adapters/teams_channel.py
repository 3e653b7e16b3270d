"""Channel on Microsoft Teams through the Microsoft 365 Agents SDK (Bot Connector REST).

A triage card starts a new thread in the configured channel (the SDK's ``create_conversation``
with the channel in ``channelData``); a later update replaces that message's card for everyone
(``update_activity``). The bot's token comes from Entra ID (client credentials, single tenant).

Endpoints (``{service}`` = ``settings.teams_service_url``, kept with its path):
  POST {service}v3/conversations                                        new thread + card
  PUT  {service}v3/conversations/{conversationId}/activities/{activityId}  update the card
plus the token: POST {login_authority}/{bot_tenant_id}/oauth2/v2.0/token (through msal).

The port is sync, the SDK async: each call runs its coroutine on a fresh event loop in the
calling thread (``asyncio.run``). Callers inside an event loop must hand the call to a thread
(``asyncio.to_thread``), never block their loop; the adapter refuses to run there.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from intake.adapters.entra import ClientCredentials
from intake.adapters.retry import DEFAULT_TIMEOUT, error_for_status, with_retries
from intake.config import Settings
from intake.doctor import Check
from intake.errors import ExternalUnavailable
from intake.models import Thread

log = logging.getLogger(__name__)
T = TypeVar("T")

SYSTEM = "teams"
CHANNEL_ID = "msteams"
# What the SDK calls the audience of Connector calls; the token's scope comes from settings.
BOT_AUDIENCE = "https://api.botframework.com"
# Longest one attempt may take (token + connector call): a hung peer never blocks a step.
ATTEMPT_TIMEOUT = DEFAULT_TIMEOUT[0] + 2 * DEFAULT_TIMEOUT[1]


class TeamsChannel:
    def __init__(self, settings: Settings) -> None:
        self.app_id = settings.bot_app_id
        self.tenant_id = settings.bot_tenant_id
        self.channel_id = settings.teams_channel_id
        self.service_url = settings.teams_service_url
        self.credentials = bot_credentials(settings)
        self._adapter: Any = None

    def post_card(self, card: dict[str, Any], *, key: str) -> Thread:
        """Start a thread in the channel holding ``card``.

        The Bot Connector has no idempotency key and no search, so ``key`` only goes to the
        log: the workflow records the thread right after, and a crash between the two posts
        the card again on replay (the one effect Intake cannot reconcile).
        """
        thread = with_retries(lambda: self._run(self._create_thread(card)), system=SYSTEM)
        log.info("teams: posted card %s as activity %s", key, thread.activity_id)
        return thread

    def update_card(self, thread: Thread, card: dict[str, Any]) -> None:
        """Replace the card of the thread's first message for everyone."""
        with_retries(lambda: self._run(self._update(thread, card)), system=SYSTEM)

    async def _create_thread(self, card: dict[str, Any]) -> Thread:
        from microsoft_agents.activity import ConversationParameters
        from microsoft_agents.hosting.core import TurnContext

        from intake.adapters.teams_sdk import card_activity

        parameters = ConversationParameters.model_validate(
            {
                "isGroup": True,
                "bot": {"id": f"28:{self.app_id}"},
                "tenantId": self.tenant_id,
                "channelData": {
                    "channel": {"id": self.channel_id},
                    "tenant": {"id": self.tenant_id},
                },
                "activity": card_activity(card).model_dump(by_alias=True, exclude_unset=True),
            }
        )
        created: list[Thread] = []

        async def remember(context: TurnContext) -> None:
            activity = context.activity
            created.append(Thread(str(activity.conversation.id), str(activity.id)))

        await self._sdk().create_conversation(
            self.app_id, CHANNEL_ID, self.service_url, BOT_AUDIENCE, parameters, remember
        )
        return created[0]

    async def _update(self, thread: Thread, card: dict[str, Any]) -> None:
        from microsoft_agents.activity import ConversationReference
        from microsoft_agents.hosting.core import TurnContext

        from intake.adapters.teams_sdk import card_activity

        reference = ConversationReference.model_validate(
            {
                "channelId": CHANNEL_ID,
                "serviceUrl": self.service_url,
                "conversation": {"id": thread.conversation_id, "isGroup": True},
            }
        )
        # Built in full here: TurnContext.update_activity would add the proactive turn's
        # made-up activity id as replyToId.
        update = card_activity(
            card,
            id=thread.activity_id,
            conversation={"id": thread.conversation_id},
            **{"from": {"id": f"28:{self.app_id}"}},
        )

        async def replace(context: TurnContext) -> None:
            await context.adapter.update_activity(context, update)

        await self._sdk().continue_conversation(
            self.app_id, reference.get_continuation_activity(), replace
        )

    def _sdk(self) -> Any:
        if self._adapter is None:
            from intake.adapters.teams_sdk import (
                BotTokenProvider,
                ProactiveAdapter,
                SingleConnection,
                TimedClientFactory,
            )

            connection = SingleConnection(BotTokenProvider(self.credentials, self.tenant_id))
            self._adapter = ProactiveAdapter(TimedClientFactory(connection, DEFAULT_TIMEOUT))
        return self._adapter

    def _run(self, call: Awaitable[T]) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(_as_our_errors(call))
        close = getattr(call, "close", None)
        if callable(close):
            close()
        raise RuntimeError("TeamsChannel is sync: call it from a thread, not an event loop")


async def _as_our_errors(call: Awaitable[T]) -> T:
    """Await ``call`` with a deadline; aiohttp's answers and failures become our errors."""
    import aiohttp

    try:
        async with asyncio.timeout(ATTEMPT_TIMEOUT):
            return await call
    except aiohttp.ClientResponseError as exc:
        raise error_for_status(
            exc.status, connector_reason(exc.message), system=SYSTEM, headers=exc.headers
        ) from None
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ExternalUnavailable(
            f"{SYSTEM}: Bot Connector call failed ({type(exc).__name__})", system=SYSTEM
        ) from None


def connector_reason(message: str) -> str:
    """The Connector's ``error.code`` and message when the body is an ErrorResponse."""
    try:
        error = json.loads(message).get("error", {})
        reason = f"{error.get('code', '')} {error.get('message', '')}".strip()
    except (ValueError, AttributeError):
        reason = message
    return (reason or "no reason given")[:200]


def bot_credentials(settings: Settings) -> ClientCredentials:
    return ClientCredentials(
        authority_host=settings.login_authority,
        tenant_id=settings.bot_tenant_id,
        client_id=settings.bot_app_id,
        client_secret=settings.bot_app_secret.get_secret_value(),
        scope=settings.bot_token_scope,
        system=SYSTEM,
    )


def _token_acquired(credentials: ClientCredentials) -> str:
    credentials.token()  # raises our error on failure; the token itself is never shown
    return f"app {credentials.client_id}, scope {credentials.scope}"


def doctor_checks(settings: Settings) -> list[Check]:
    credentials = bot_credentials(settings)
    return [
        Check(
            SYSTEM,
            "bot token acquired",
            lambda: _token_acquired(credentials),
            "check INTAKE_BOT_APP_ID, INTAKE_BOT_APP_SECRET and INTAKE_BOT_TENANT_ID: the "
            "Azure Bot must be single-tenant in that tenant (docs/connect-graph-teams.md)",
        ),
    ]
