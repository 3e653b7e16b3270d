"""The Agents SDK pieces the Teams channel adapter uses (imported on first use only).

Only the SDK's Connector client (``TeamsConnectorClient``: its ``conversations`` operations and
its models) is used. The SDK's ``ChannelServiceAdapter`` would, for every call, build a new
connector client with its own aiohttp session (and so a new TCP and TLS connection), fetch
the token twice (once more for a user-token client a proactive call never uses) and run a turn
pipeline; and its token path (``MsalAuth``) cannot be pointed at another login authority. So
the token comes from ``intake.adapters.entra`` (msal, authority from settings, cached), and one
``Connector`` keeps an event loop thread and one aiohttp session (keep-alive) for every call of
an adapter, until it is closed.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Coroutine
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

import aiohttp
from microsoft_agents.activity import Activity, ConversationParameters
from microsoft_agents.hosting.core.connector.teams import TeamsConnectorClient

from intake.errors import ExternalUnavailable

T = TypeVar("T")


class Connector:
    """One event loop in a daemon thread and one aiohttp session to the Bot Connector.

    Sync callers hand it coroutines (``run``) and wait for their result in their own thread;
    the session, its connection pool and the SDK client live on the loop, made on first use.
    """

    def __init__(self, service_url: str, timeout: tuple[float, float]) -> None:
        self.endpoint = service_url if service_url.endswith("/") else service_url + "/"
        self.timeout = aiohttp.ClientTimeout(sock_connect=timeout[0], sock_read=timeout[1])
        self._client: TeamsConnectorClient | None = None
        self._closed = False
        self._lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="teams-connector", daemon=True
        )
        self._thread.start()

    def run(self, call: Coroutine[Any, Any, T], *, timeout: float) -> T:
        """Run ``call`` on the connector's loop and wait for its result (at most ``timeout``
        seconds: the call has its own deadline, this one only guards a stuck loop)."""
        with self._lock:
            if self._closed:
                call.close()
                raise ExternalUnavailable("teams: the connector was closed", system="teams")
            future = asyncio.run_coroutine_threadsafe(call, self.loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise TimeoutError("the Teams connector's loop did not answer in time") from None

    def _session_client(self, token: str) -> TeamsConnectorClient:
        """The SDK client over the one session, carrying ``token`` (on the loop only)."""
        if self._client is None:
            session = aiohttp.ClientSession(base_url=self.endpoint, timeout=self.timeout)
            self._client = TeamsConnectorClient(
                endpoint=self.endpoint, token=token, session=session
            )
        else:
            # Every token is the same app's for the same scope: the newest serves every call.
            self._client.client.headers["Authorization"] = f"Bearer {token}"
        return self._client

    async def create_conversation(
        self, parameters: ConversationParameters, token: str
    ) -> tuple[str, str]:
        """Start a conversation (a channel thread); its id and the first activity's id."""
        client = self._session_client(token)
        created = await client.conversations.create_conversation(parameters)
        # As the SDK's ChannelServiceAdapter.create_conversation reads the answer.
        return str(created.id), str(created.activity_id or uuid.uuid4())

    async def update_activity(
        self, conversation_id: str, activity_id: str, activity: Activity, token: str
    ) -> None:
        client = self._session_client(token)
        await client.conversations.update_activity(conversation_id, activity_id, activity)

    async def send_to_conversation(
        self, conversation_id: str, activity: Activity, token: str
    ) -> str:
        """Send ``activity`` to a conversation (a thread's id: a reply in it); the new id."""
        client = self._session_client(token)
        sent = await client.conversations.send_to_conversation(conversation_id, activity)
        return str(sent.id or "")

    def close(self) -> None:
        """Close the session (its connections) and stop the loop; later calls are refused."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._close_session(), self.loop).result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()

    async def _close_session(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


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


def text_activity(text: str, entities: list[dict[str, Any]]) -> Activity:
    """A message activity of Teams markdown text, with its mention entities if any."""
    return Activity.model_validate(
        {
            "type": "message",
            "textFormat": "markdown",
            "text": text,
            **({"entities": entities} if entities else {}),
        }
    )
