"""Channel on Microsoft Teams through the Microsoft 365 Agents SDK (Bot Connector REST).

A triage card starts a new thread in the configured channel (the SDK's ``create_conversation``
with the channel in ``channelData``); a later update replaces that message's card for everyone
(``update_activity``). The bot's token comes from Entra ID (client credentials, single tenant).

Endpoints (``{service}`` = ``settings.teams_service_url``, kept with its path):
  POST {service}v3/conversations                                        new thread + card
  PUT  {service}v3/conversations/{conversationId}/activities/{activityId}  update the card
plus the token: POST {login_authority}/{bot_tenant_id}/oauth2/v2.0/token (through msal).

The port is sync, the SDK async: each adapter keeps one event loop in a daemon thread, with one
aiohttp session (its connections kept alive) and the bot's token cached by msal; a call runs
its coroutine there and waits in the caller's thread. Callers inside an event loop must hand
the call to a thread (``asyncio.to_thread``), never block their loop; the adapter refuses to run
there. ``close`` (also run at exit) closes the session and stops the loop.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

from intake.adapters.entra import ClientCredentials
from intake.adapters.retry import DEFAULT_TIMEOUT, error_for_status, with_retries
from intake.config import Settings
from intake.doctor import Check
from intake.errors import ExternalUnavailable
from intake.models import Mention, Thread

log = logging.getLogger(__name__)
T = TypeVar("T")

SYSTEM = "teams"
# Longest one attempt may take (token + connector call): a hung peer never blocks a step.
ATTEMPT_TIMEOUT = DEFAULT_TIMEOUT[0] + 2 * DEFAULT_TIMEOUT[1]
RUN_TIMEOUT = ATTEMPT_TIMEOUT + 5  # the caller's wait: only a stuck loop ever reaches it


class TeamsChannel:
    def __init__(self, settings: Settings) -> None:
        self.app_id = settings.bot_app_id
        self.tenant_id = settings.bot_tenant_id
        self.channel_id = settings.teams_channel_id
        self.service_url = settings.teams_service_url
        self.credentials = bot_credentials(settings)
        self._connector: Any = None  # teams_sdk.Connector, started on the first call
        self._lock = threading.Lock()

    def post_card(self, card: dict[str, Any], *, key: str) -> Thread:
        """Start a thread in the channel holding ``card``.

        The Bot Connector has no idempotency key and no search, so ``key`` only goes to the
        log: the workflow records the thread right after, and a crash between the two posts
        the card again on replay (the one effect Intake cannot reconcile).
        """
        parameters = self._thread_parameters(card)
        thread = with_retries(
            lambda: self._run(lambda c, token: c.create_conversation(parameters, token)),
            system=SYSTEM,
        )
        log.info("teams: posted card %s as activity %s", key, thread[1])
        return Thread(*thread)

    def update_card(self, thread: Thread, card: dict[str, Any]) -> None:
        """Replace the card of the thread's first message for everyone."""
        from intake.adapters.teams_sdk import card_activity

        # Built in full, as the Connector wants it: the message's id, conversation and sender.
        update = card_activity(
            card,
            id=thread.activity_id,
            conversation={"id": thread.conversation_id},
            **{"from": {"id": f"28:{self.app_id}"}},
        )
        with_retries(
            lambda: self._run(
                lambda c, token: c.update_activity(
                    thread.conversation_id, thread.activity_id, update, token
                )
            ),
            system=SYSTEM,
        )

    # --- Channel.reply / Channel.post: placeholder until issue 13 (branch `teams`) ----------
    # Kept only so mypy checks this adapter against the port; replaced whole by the real ones.
    def reply(
        self, thread: Thread, text: str, *, key: str, mentions: Sequence[Mention] = ()
    ) -> str:
        raise NotImplementedError("Teams thread replies: see issue 13")

    def post(self, text: str, *, key: str, mentions: Sequence[Mention] = ()) -> Thread:
        raise NotImplementedError("Teams thread replies: see issue 13")

    # --- end of the placeholder ---------------------------------------------------------

    def close(self) -> None:
        """Close the connector's session and stop its loop (a later call starts new ones)."""
        with self._lock:
            connector, self._connector = self._connector, None
        if connector is not None:
            atexit.unregister(connector.close)
            connector.close()

    def _thread_parameters(self, card: dict[str, Any]) -> Any:
        from microsoft_agents.activity import ConversationParameters

        from intake.adapters.teams_sdk import card_activity

        return ConversationParameters.model_validate(
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

    def _connector_started(self) -> Any:
        with self._lock:
            if self._connector is None:
                from intake.adapters.teams_sdk import Connector

                self._connector = Connector(self.service_url, DEFAULT_TIMEOUT)
                atexit.register(self._connector.close)  # no open connection left at exit
            return self._connector

    def _run(self, call: Callable[[Any, str], Coroutine[Any, Any, T]]) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError("TeamsChannel is sync: call it from a thread, not an event loop")
        # In this thread, not on the loop: msal answers from its cache, and when it must ask
        # Entra, only this call waits.
        token = self.credentials.token()
        connector = self._connector_started()
        try:
            result: T = connector.run(_as_our_errors(call(connector, token)), timeout=RUN_TIMEOUT)
        except TimeoutError:
            raise ExternalUnavailable(
                f"{SYSTEM}: Bot Connector call did not finish", system=SYSTEM
            ) from None
        return result


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
