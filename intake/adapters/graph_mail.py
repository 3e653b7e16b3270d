"""Mailer on Microsoft Graph: ``sendMail`` from one configured mailbox (app-only token).

Exactly once: every message carries our key twice. As the internet header ``x-intake-key``
(what a recipient's mail system sees) and as a single-value extended property in our own
namespace, which Graph can ``$filter`` on server side. Graph cannot filter on
``internetMessageHeaders`` (a collection of complex values, returned only with ``$select``),
so ``find_sent`` asks Sent Items for the extended property instead: one GET, no scan window.

Replies find their request by the internet message id we recorded. ``sendMail`` answers 202
with no body, so we choose the id ourselves: ``internet_message_id(key, sender)``, set as the
message's ``internetMessageId`` (writable on a message being created, RFC 2822 form
``<left@right>``), derived from the key so a retry and ``find_sent`` name the same id. Sent
Items' copy is asked for its ``internetMessageId`` too and, when Exchange kept another one,
that one is what we record. Should neither reach a reply (a client whose mail program drops
``In-Reply-To``), the subject's ``[#id]`` tag with the client's address still matches.

Endpoints (relative to ``settings.graph_endpoint``):
  POST /v1.0/users/{sender}/sendMail                                      send (202)
  GET  /v1.0/users/{sender}/mailFolders/sentitems/messages?$filter=...    find_sent
  GET  /v1.0/users/{sender}/mailFolders/sentitems                          doctor
plus the token: POST {login_authority}/{tenant}/oauth2/v2.0/token (through msal).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any
from urllib.parse import quote

from intake.adapters.entra import graph_credentials
from intake.adapters.retry import DEFAULT_TIMEOUT, error_for_status, with_retries
from intake.config import Settings
from intake.doctor import Check
from intake.errors import ExternalUnavailable
from intake.models import Email

log = logging.getLogger(__name__)

SYSTEM = "graph"
KEY_HEADER = "x-intake-key"  # Graph accepts custom internet headers only when they start x-
# A named MAPI property in a property set of our own (a fixed, random GUID): the key on the
# Sent Items copy, where $filter can reach it.
KEY_PROPERTY = "String {6f0a6c1e-3c57-4c3e-9a51-0d2b7f6e1a42} Name IntakeKey"


class GraphMailer:
    def __init__(self, settings: Settings, *, session: Any = None) -> None:
        endpoint = settings.graph_endpoint.rstrip("/")
        self.sender = str(settings.mail_sender)
        self.mailbox_url = f"{endpoint}/v1.0/users/{quote(self.sender, safe='@')}"
        self.credentials = graph_credentials(settings, system=SYSTEM)
        self._session = session

    def send(self, email: Email) -> str:
        """Send through Graph unless Sent Items already holds this key (the port's promise).

        The lookup is skipped on the first try of an email that cannot have gone yet
        (``email.first_attempt``); every retry looks again, since a failed try may have sent.
        Graph answers 202 with no body: the internet message id is the one we set.
        """
        tries = 0

        def attempt() -> str:
            nonlocal tries
            tries += 1
            if tries > 1 or not email.first_attempt:
                already = self._find_sent_once(email.key)
                if already is not None:
                    return already
            body = send_mail_body(email, self.sender)
            self._call_once("POST", f"{self.mailbox_url}/sendMail", json=body)
            log.info("graph: sent email %s", email.key)
            return str(body["message"]["internetMessageId"])

        return with_retries(attempt, system=SYSTEM)

    def find_sent(self, key: str) -> str | None:
        """The internet message id of the Sent Items copy carrying ``key``, if there is one."""
        return with_retries(lambda: self._find_sent_once(key), system=SYSTEM)

    def _find_sent_once(self, key: str) -> str | None:
        literal = key.replace("'", "''")  # OData string literal
        query = (
            f"singleValueExtendedProperties/Any(ep: ep/id eq '{KEY_PROPERTY}'"
            f" and ep/value eq '{literal}')"
        )
        url = (
            f"{self.mailbox_url}/mailFolders/sentitems/messages"
            f"?$filter={quote(query, safe='')}&$select=id,internetMessageId&$top=1"
        )
        found = self._call_once("GET", url).json().get("value", [])
        if not found:
            return None
        return str(found[0].get("internetMessageId") or internet_message_id(key, self.sender))

    def check_mailbox(self) -> str:
        """Doctor: the sender's Sent Items folder is readable (mailbox exists, access granted)."""
        folder = self._call("GET", f"{self.mailbox_url}/mailFolders/sentitems?$select=id").json()
        return f"{self.sender}, Sent Items {str(folder.get('id', ''))[:12]}…"

    def _http(self) -> Any:
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session

    def call(self, method: str, url: str, **kwargs: Any) -> Any:
        """One Graph call with the app-only token, retried like every other (the inbox
        reader's way in: one token cache and one retry policy for the mailbox)."""
        return self._call(method, url, **kwargs)

    def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        return with_retries(lambda: self._call_once(method, url, **kwargs), system=SYSTEM)

    def _call_once(self, method: str, url: str, **kwargs: Any) -> Any:
        import requests

        headers = {
            **kwargs.pop("headers", {}),
            "Authorization": f"Bearer {self.credentials.token()}",
        }
        try:
            answer = self._http().request(
                method, url, headers=headers, timeout=DEFAULT_TIMEOUT, **kwargs
            )
        except requests.RequestException as exc:  # timeout, refused, reset: transient
            raise ExternalUnavailable(
                f"{SYSTEM}: {method} {url.split('?')[0]} failed ({type(exc).__name__})",
                system=SYSTEM,
            ) from None
        if answer.status_code >= 400:
            raise error_for_status(
                answer.status_code, graph_reason(answer), system=SYSTEM, headers=answer.headers
            )
        return answer


def internet_message_id(key: str, sender: str) -> str:
    """The ``Message-ID`` we give the email of ``key``: unique per key, the same on a retry,
    on the sender's domain (RFC 5322 ``<id-left@id-right>``)."""
    domain = sender.rsplit("@", 1)[-1] or "intake.invalid"
    return f"<intake.{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def send_mail_body(email: Email, sender: str) -> dict[str, Any]:
    """The JSON body of ``sendMail`` for one email (HTML body; the key as header and property;
    our own internet message id)."""

    def recipients(addresses: tuple[str, ...]) -> list[dict[str, Any]]:
        return [{"emailAddress": {"address": address}} for address in addresses]

    message: dict[str, Any] = {
        "subject": email.subject,
        "body": {"contentType": "HTML", "content": email.html},
        "toRecipients": recipients(email.to),
        "internetMessageHeaders": [
            {"name": KEY_HEADER, "value": email.key},
            # Graph refuses any other header name (Auto-Submitted included): 400.
            *(
                {"name": name, "value": value}
                for name, value in email.headers
                if name.lower().startswith("x-")
            ),
        ],
        "singleValueExtendedProperties": [{"id": KEY_PROPERTY, "value": email.key}],
        "internetMessageId": internet_message_id(email.key, sender),
    }
    if email.cc:
        message["ccRecipients"] = recipients(email.cc)
    if email.reply_to:
        message["replyTo"] = recipients(email.reply_to)
    return {"message": message, "saveToSentItems": True}


def graph_reason(answer: Any) -> str:
    """Graph's error code and the start of its message; never a header of ours."""
    try:
        error = answer.json().get("error", {})
        reason = f"{error.get('code', '')} {error.get('message', '')}".strip()
    except ValueError:
        reason = ""
    return (reason or answer.reason or "no reason given")[:200]


def doctor_checks(settings: Settings) -> list[Check]:
    mailer = GraphMailer(settings)
    return [
        Check(
            SYSTEM,
            "app-only token acquired",
            mailer.credentials.probe,
            "check INTAKE_GRAPH_TENANT_ID, INTAKE_GRAPH_CLIENT_ID and INTAKE_GRAPH_CLIENT_SECRET "
            "(a new secret can take a few minutes to work)",
        ),
        Check(
            SYSTEM,
            "sender mailbox reachable",
            mailer.check_mailbox,
            "INTAKE_MAIL_SENDER must be a mailbox the app may use: grant Mail.Send and "
            "Mail.Read (application) and scope them to this mailbox (docs/connect-graph-teams.md)",
        ),
    ]
