"""Channel on Microsoft Teams through the Microsoft 365 Agents SDK (Bot Connector REST).

A triage card starts a new thread in the configured channel (the SDK's ``create_conversation``
with the channel in ``channelData``); a later update replaces that message's card for everyone
(``update_activity``). A reply (a reminder, a note) goes into a thread: the thread's
conversation id is the channel's with ``;messageid={root activity id}``, and a message sent to
that conversation lands under the root. A post (the digest) is a new thread, as a card is.
The bot's token comes from Entra ID (client credentials, single tenant).

Endpoints (``{service}`` = ``settings.teams_service_url``, kept with its path):
  POST {service}v3/conversations                                        new thread (card, post)
  PUT  {service}v3/conversations/{conversationId}/activities/{activityId}  update the card
  POST {service}v3/conversations/{channelId};messageid={rootId}/activities  reply in a thread
plus the token: POST {login_authority}/{bot_tenant_id}/oauth2/v2.0/token (through msal).

Replies and posts are text in Teams markdown. A person Intake knows the Teams id of is a real
mention (``<at>Name</at>`` in the text plus a ``mention`` entity: Teams notifies them); anyone
else is their name in bold. Names are escaped (HTML inside ``<at>``, markdown in bold).

The Connector takes no idempotency key and cannot list a channel (that needs Graph with
``ChannelMessage.Read.All`` or RSC), so a reply's or post's effect key is kept in an effect
journal (``FollowUps.claim_effect`` in practice): each attempt is recorded before the call
and its outcome (the new activity id, or a certain failure) after. A second call with the
same key returns the recorded id and sends nothing; only a crash between the Connector's
answer and the record, or a timeout, leaves an attempt unknown, and the next one sends again
(logged). docs/reliability.md says what can and cannot be reconciled.

The port is sync, the SDK async: each adapter keeps one event loop in a daemon thread, with one
aiohttp session (its connections kept alive) and the bot's token cached by msal; a call runs
its coroutine there and waits in the caller's thread. Callers inside an event loop must hand
the call to a thread (``asyncio.to_thread``), never block their loop; the adapter refuses to run
there. ``close`` (also run at exit) closes the session and stops the loop.
"""

from __future__ import annotations

import asyncio
import atexit
import html
import json
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

from intake.adapters.entra import ClientCredentials
from intake.adapters.retry import DEFAULT_TIMEOUT, error_for_status, with_retries
from intake.config import Settings
from intake.doctor import Check
from intake.errors import ExternalError, ExternalRejected, ExternalUnavailable
from intake.models import Mention, Thread
from intake.triage_card import escape_markdown

log = logging.getLogger(__name__)
T = TypeVar("T")

SYSTEM = "teams"
# Longest one attempt may take (token + connector call): a hung peer never blocks a step.
ATTEMPT_TIMEOUT = DEFAULT_TIMEOUT[0] + 2 * DEFAULT_TIMEOUT[1]
RUN_TIMEOUT = ATTEMPT_TIMEOUT + 5  # the caller's wait: only a stuck loop ever reaches it
# Attempts recorded for one message key before we stop and ask a person to look.
MAX_MESSAGE_ATTEMPTS = 20

# Write-once store of what was said: ``claim(key, value)`` stores ``value`` unless something
# is there and returns what is stored (``FollowUps.claim_effect``).
EffectJournal = Callable[[str, dict[str, Any]], dict[str, Any]]


class TeamsChannel:
    def __init__(self, settings: Settings, *, journal: EffectJournal | None = None) -> None:
        self.app_id = settings.bot_app_id
        self.tenant_id = settings.bot_tenant_id
        self.channel_id = settings.teams_channel_id
        self.service_url = settings.teams_service_url
        self.credentials = bot_credentials(settings)
        # Without a journal a message key goes to the log only (as a card's key does).
        self.journal = journal
        self._connector: Any = None  # teams_sdk.Connector, started on the first call
        self._lock = threading.Lock()

    def post_card(self, card: dict[str, Any], *, key: str) -> Thread:
        """Start a thread in the channel holding ``card``.

        The Bot Connector has no idempotency key and no search, so ``key`` only goes to the
        log: the workflow records the thread right after, and a crash between the two posts
        the card again on replay (the one effect Intake cannot reconcile).
        """
        from intake.adapters.teams_sdk import card_activity

        parameters = self._thread_parameters(card_activity(card))
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

    def reply(
        self, thread: Thread, text: str, *, key: str, mentions: Sequence[Mention] = ()
    ) -> str:
        """Reply in ``thread``: a message sent to the thread's conversation (the channel's id
        with ``;messageid=`` of its root), once per ``key`` as far as the journal can tell."""
        from intake.adapters.teams_sdk import text_activity

        activity = text_activity(**teams_message(text, mentions))
        return self._once(
            key,
            lambda: with_retries(
                lambda: self._run(
                    lambda c, token: c.send_to_conversation(thread.conversation_id, activity, token)
                ),
                system=SYSTEM,
            ),
        )

    def post(self, text: str, *, key: str, mentions: Sequence[Mention] = ()) -> Thread:
        """A new thread in the channel holding ``text``, started as a card's thread is."""
        from intake.adapters.teams_sdk import text_activity

        parameters = self._thread_parameters(text_activity(**teams_message(text, mentions)))

        def create() -> str:
            conversation_id, activity_id = with_retries(
                lambda: self._run(lambda c, token: c.create_conversation(parameters, token)),
                system=SYSTEM,
            )
            return f"{activity_id} {conversation_id}"  # one string for the journal

        activity_id, conversation_id = self._once(key, create).split(" ", 1)
        return Thread(conversation_id, activity_id)

    def _once(self, key: str, send: Callable[[], str]) -> str:
        """Run ``send`` unless the journal says an attempt with ``key`` already succeeded.

        Attempt ``n`` claims ``teams:{key}:attempt:{n}`` before sending and
        ``teams:{key}:outcome:{n}`` after (the new id, or a failure the Connector answered,
        which proves nothing was sent). An earlier attempt with no outcome is unknown: it may
        have posted (a crash or a timeout after the Connector took it); nothing can tell, so
        this attempt sends again and says so in the log.
        """
        if self.journal is None:
            result = send()
            log.info("teams: sent %s as %s (no journal to remember it)", key, result)
            return result
        mine = {"attempt": uuid.uuid4().hex}
        unknown = 0
        for number in range(1, MAX_MESSAGE_ATTEMPTS + 1):
            stored = self.journal(f"teams:{key}:attempt:{number}", mine)
            if stored.get("attempt") == mine["attempt"]:
                break
            outcome = self.journal(f"teams:{key}:outcome:{number}", {"unknown": True})
            if outcome.get("sent"):
                return str(outcome["sent"])
            unknown += 1 if outcome.get("unknown") else 0
        else:
            raise ExternalRejected(
                f"{SYSTEM}: {key} was attempted {MAX_MESSAGE_ATTEMPTS} times; see why.",
                system=SYSTEM,
            )
        if unknown:
            log.warning("teams: %d earlier attempt(s) at %s may have sent it", unknown, key)
        try:
            result = send()
        except ExternalError as exc:
            if exc.remote_status is not None:  # the Connector answered: nothing was sent
                self.journal(f"teams:{key}:outcome:{number}", {"failed": exc.remote_status})
            raise
        stored = self.journal(f"teams:{key}:outcome:{number}", {"sent": result})
        if stored.get("sent") not in (None, result):  # pragma: no cover - a concurrent twin
            log.warning("teams: %s was sent twice at once", key)
        return result

    def close(self) -> None:
        """Close the connector's session and stop its loop (a later call starts new ones)."""
        with self._lock:
            connector, self._connector = self._connector, None
        if connector is not None:
            atexit.unregister(connector.close)
            connector.close()

    def _thread_parameters(self, activity: Any) -> Any:
        """A new thread in the configured channel of the tenant, starting with ``activity``."""
        from microsoft_agents.activity import ConversationParameters

        return ConversationParameters.model_validate(
            {
                "isGroup": True,
                "bot": {"id": f"28:{self.app_id}"},
                "tenantId": self.tenant_id,
                "channelData": {
                    "channel": {"id": self.channel_id},
                    "tenant": {"id": self.tenant_id},
                },
                "activity": activity.model_dump(by_alias=True, exclude_unset=True),
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


def teams_message(text: str, mentions: Sequence[Mention] = ()) -> dict[str, Any]:
    """The text and mention entities of a message (``text`` already Teams markdown, each
    mention in it as ``<at>{name}</at>``).

    A mention with a Teams id stays ``<at>`` with the name HTML-escaped, and its entity's
    ``text`` is exactly that tag (Teams matches the two); one without becomes the name in bold,
    markdown-escaped. A mention missing from the text is put in front of it, so no one named
    is silently left out.
    """
    entities: list[dict[str, Any]] = []
    for mention in mentions:
        tag = f"<at>{mention.name}</at>"
        if mention.teams_id:
            shown = f"<at>{html.escape(mention.name, quote=False)}</at>"
            if shown not in (e["text"] for e in entities):
                entities.append(
                    {
                        "type": "mention",
                        "mentioned": {"id": mention.teams_id, "name": mention.name},
                        "text": shown,
                    }
                )
        else:
            shown = f"**{escape_markdown(mention.name)}**"
        text = text.replace(tag, shown) if tag in text else f"{shown} {text}"
    return {"text": text, "entities": entities}


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
