"""Checks the Bot Framework token on every incoming activity (Connector -> bot).

Why not the Agents SDK's ``JwtTokenValidator``: in 1.9.0 it fetches signing keys from fixed
Bot Framework / Entra URLs, so the metadata document cannot come from settings (and a test
cannot serve its own keys). This is the same check, done with PyJWT, with the OpenID metadata
URL from ``settings.bot_openid_metadata_url`` (production default: the Bot Framework one), per
"Bot Connector authentication": RS256 signature by a key of the metadata's JWKS, issuer
``https://api.botframework.com``, audience = our app id, not expired (5 minutes of skew),
the ``serviceUrl`` claim equal to the activity's, and the signing key endorsed for the
activity's channel, as the Bot Framework SDK checks it (``EndorsementsValidator``: a key with no
``endorsements`` endorses nothing, so it is refused); and our own rules: the channel is Teams
(``channelId`` is ``msteams``: this bot is installed nowhere else) and the activity comes from our
tenant.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import jwt
import requests

from intake.errors import UnauthenticatedActivity

log = logging.getLogger(__name__)

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
TEAMS_CHANNEL_ID = "msteams"
METADATA_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds, as every other HTTP call
CLOCK_SKEW_SECONDS = 300
KEYS_MAX_AGE_SECONDS = 24 * 3600  # the documentation asks for a refresh at least daily
MIN_REFETCH_SECONDS = 60  # an unknown key id refetches the keys, at most once a minute


class BotTokenValidator:
    """Validates ``Authorization: Bearer <jwt>`` of an activity; one instance per worker."""

    def __init__(self, *, app_id: str, tenant_id: str, metadata_url: str, http: Any = None) -> None:
        self.app_id = app_id
        self.tenant_id = tenant_id
        self.metadata_url = metadata_url
        self.http = http or requests.Session()
        self._lock = threading.Lock()
        self._keys: dict[str, dict[str, Any]] = {}
        self._issuer = BOT_FRAMEWORK_ISSUER
        self._fetched_at = 0.0

    def validate(self, authorization: str | None, activity: dict[str, Any]) -> dict[str, Any]:
        """The token's claims; raises ``UnauthenticatedActivity`` (401) for anything else."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnauthenticatedActivity("The activity has no bearer token.")
        try:
            header = jwt.get_unverified_header(token.strip())
            if header.get("alg") != "RS256":
                raise UnauthenticatedActivity("The token is not signed with RS256.")
            key = self._key(str(header.get("kid", "")))
            claims: dict[str, Any] = jwt.decode(
                token.strip(),
                key=jwt.PyJWK.from_dict(key).key,
                algorithms=["RS256"],
                audience=self.app_id,
                issuer=self._issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            # The reason's type only: a token's content never goes to the log.
            log.warning("bot token refused: %s", type(exc).__name__)
            raise UnauthenticatedActivity("The token is not valid.") from None
        self._check_activity(claims, key, activity)
        return claims

    def _check_activity(
        self, claims: dict[str, Any], key: dict[str, Any], activity: dict[str, Any]
    ) -> None:
        service_url = str(activity.get("serviceUrl") or "")
        if claims.get("serviceurl") != service_url:
            log.warning("bot token refused: serviceUrl claim does not match the activity")
            raise UnauthenticatedActivity("The token is not for this service URL.")
        channel = activity.get("channelId")
        if channel != TEAMS_CHANNEL_ID:
            log.warning("bot token refused: the activity is not from Teams")
            raise UnauthenticatedActivity("The activity is not from Microsoft Teams.")
        endorsements = key.get("endorsements")
        if not isinstance(endorsements, list) or channel not in endorsements:
            log.warning("bot token refused: key not endorsed for the channel")
            raise UnauthenticatedActivity("The token's key is not endorsed for this channel.")
        if not self.tenant_id or activity_tenant(activity).lower() != self.tenant_id.lower():
            log.warning("bot token refused: the activity is from another tenant")
            raise UnauthenticatedActivity("The activity is not from our tenant.")

    def _key(self, kid: str) -> dict[str, Any]:
        with self._lock:
            age = time.monotonic() - self._fetched_at
            if age > KEYS_MAX_AGE_SECONDS or (kid not in self._keys and age > MIN_REFETCH_SECONDS):
                self._fetch()
            if kid not in self._keys:
                raise jwt.InvalidKeyError("unknown key id")
            return self._keys[kid]

    def _fetch(self) -> None:
        try:
            metadata = self._get_json(self.metadata_url)
            jwks = self._get_json(str(metadata["jwks_uri"]))
            self._issuer = str(metadata.get("issuer") or BOT_FRAMEWORK_ISSUER)
            self._keys = {str(k["kid"]): k for k in jwks["keys"] if "kid" in k}
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            # Keep the keys we had: an outage of the metadata host must not stop the bot.
            log.error("cannot read the bot's OpenID metadata: %s", type(exc).__name__)
            if not self._keys:
                raise jwt.InvalidKeyError("no signing keys") from None
        self._fetched_at = time.monotonic()

    def _get_json(self, url: str) -> dict[str, Any]:
        answer = self.http.get(url, timeout=METADATA_TIMEOUT)
        answer.raise_for_status()
        body: dict[str, Any] = answer.json()
        return body


def activity_tenant(activity: dict[str, Any]) -> str:
    """The tenant an activity says it comes from (``conversation.tenantId``, else
    ``channelData.tenant.id``); empty when neither is there or either has the wrong shape."""
    conversation = activity.get("conversation")
    tenant = conversation.get("tenantId") if isinstance(conversation, dict) else None
    if not tenant:
        channel_data = activity.get("channelData")
        named = channel_data.get("tenant") if isinstance(channel_data, dict) else None
        tenant = named.get("id") if isinstance(named, dict) else None
    return tenant if isinstance(tenant, str) else ""
