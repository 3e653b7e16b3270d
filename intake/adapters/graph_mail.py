"""Mailer on Microsoft Graph: ``sendMail`` from one configured mailbox (app-only token).

Exactly once: every message carries our key twice. As the internet header ``x-intake-key``
(what a recipient's mail system sees) and as a single-value extended property in our own
namespace, which Graph can ``$filter`` on server side. Graph cannot filter on
``internetMessageHeaders`` (a collection of complex values, returned only with ``$select``),
so ``find_sent`` asks Sent Items for the extended property instead: one GET, no scan window.

Endpoints (relative to ``settings.graph_endpoint``):
  POST /v1.0/users/{sender}/sendMail                                      send (202)
  GET  /v1.0/users/{sender}/mailFolders/sentitems/messages?$filter=...    find_sent
  GET  /v1.0/users/{sender}/mailFolders/sentitems                          doctor
plus the token: POST {login_authority}/{tenant}/oauth2/v2.0/token (through msal).
"""

from __future__ import annotations

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
        Graph answers 202 with no body, so no message id exists yet: the key stands for it.
        """
        tries = 0

        def attempt() -> str:
            nonlocal tries
            tries += 1
            if tries > 1 or not email.first_attempt:
                already = self._find_sent_once(email.key)
                if already is not None:
                    return already
            self._call_once("POST", f"{self.mailbox_url}/sendMail", json=send_mail_body(email))
            log.info("graph: sent email %s", email.key)
            return email.key

        return with_retries(attempt, system=SYSTEM)

    def find_sent(self, key: str) -> str | None:
        """The Graph id of the Sent Items copy carrying ``key``, if there is one."""
        return with_retries(lambda: self._find_sent_once(key), system=SYSTEM)

    def _find_sent_once(self, key: str) -> str | None:
        literal = key.replace("'", "''")  # OData string literal
        query = (
            f"singleValueExtendedProperties/Any(ep: ep/id eq '{KEY_PROPERTY}'"
            f" and ep/value eq '{literal}')"
        )
        url = (
            f"{self.mailbox_url}/mailFolders/sentitems/messages"
            f"?$filter={quote(query, safe='')}&$select=id&$top=1"
        )
        found = self._call_once("GET", url).json().get("value", [])
        return str(found[0]["id"]) if found else None

    def check_mailbox(self) -> str:
        """Doctor: the sender's Sent Items folder is readable (mailbox exists, access granted)."""
        folder = self._call("GET", f"{self.mailbox_url}/mailFolders/sentitems?$select=id").json()
        return f"{self.sender}, Sent Items {str(folder.get('id', ''))[:12]}…"

    def _http(self) -> Any:
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session

    def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        return with_retries(lambda: self._call_once(method, url, **kwargs), system=SYSTEM)

    def _call_once(self, method: str, url: str, **kwargs: Any) -> Any:
        import requests

        headers = {"Authorization": f"Bearer {self.credentials.token()}"}
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


def send_mail_body(email: Email) -> dict[str, Any]:
    """The JSON body of ``sendMail`` for one email (HTML body; the key as header and property)."""

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
