"""Recorded attempts at effects whose remote has no idempotency key (an email, a card post).

Right before such an effect the workflow records that it tries it (a numbered write-once
``Store.claim``), and after an error answer that it certainly did nothing. A later attempt thus
knows whether an earlier one may have done the effect: then it looks first (Sent Items for an
email) or, where nothing can be looked up (a Teams post), goes on and says so. A store that
cannot record stops the effect, so retries during a store outage cannot pile up effects we
would not remember. docs/reliability.md measures the windows that remain.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from intake.errors import ExternalError, ExternalRejected, ExternalUnavailable
from intake.models import Email, RequestRecord
from intake.ports import Services

# How long a sent email may take to show in Sent Items: before that, a miss proves nothing.
SENT_ITEMS_SETTLE_SECONDS = 120.0


@dataclass(frozen=True)
class Attempt:
    """One recorded attempt at an effect whose remote has no idempotency key."""

    number: int
    key: str
    earlier_unknown: bool  # an earlier attempt may have done the effect
    earlier_age: float  # seconds since the latest such attempt started

    def did_nothing(self, request_id: str, services: Services) -> None:
        """Record that this attempt certainly had no effect."""
        services.store.claim(request_id, f"unsent:{self.number}:{self.key}", {"unsent": True})

    def failed(self, exc: ExternalError, request_id: str, services: Services) -> None:
        """Record a failure that proves nothing happened: the remote answered with an error
        status. A timeout proves nothing (the call may have gone through)."""
        if exc.remote_status is not None:
            self.did_nothing(request_id, services)


MAX_ATTEMPTS_RECORDED = 50


def record_attempt(record: RequestRecord, key: str, services: Services) -> Attempt:
    """Record, right before an effect whose remote has no idempotency key, that we try it.

    Attempts are numbered write-once records (``Store.claim``; the request's lease means one
    attempt at a time). A store that cannot record stops the effect, so retries during a store
    outage cannot pile up emails or cards we would not remember; and an attempt learns whether
    an earlier one may have done the effect (it recorded no certain failure).
    """
    store, request_id = services.store, record.request.id
    now = services.clock()
    mine = {"attempt": uuid.uuid4().hex, "at": now.isoformat()}
    earlier: list[dict[str, Any]] = []
    for number in range(1, MAX_ATTEMPTS_RECORDED + 1):
        stored = store.claim(request_id, f"intent:{number}:{key}", mine)
        if stored.get("attempt") == mine["attempt"]:
            break
        earlier.append(stored)
    else:
        raise ExternalRejected(f"{key} was attempted {MAX_ATTEMPTS_RECORDED} times; see why.")
    unknown_since: str | None = None
    for index, attempt in enumerate(earlier, start=1):
        # An earlier attempt is over (we hold the lease): no outcome recorded means unknown.
        outcome = store.claim(request_id, f"unsent:{index}:{key}", {"unsent": False})
        if not outcome.get("unsent"):
            unknown_since = str(attempt["at"])
    if unknown_since is None:
        return Attempt(number, key, earlier_unknown=False, earlier_age=0.0)
    age = (now - datetime.fromisoformat(unknown_since)).total_seconds()
    return Attempt(number, key, earlier_unknown=True, earlier_age=age)


def send_once(
    record: RequestRecord, email: Email, services: Services, *, first_run: bool = False
) -> str:
    """Send unless the email already went (it carries its key, so Sent Items can tell); an
    email to the request's client goes into the reply index (``Store.index_message``), so a
    reply naming its internet message id finds the request."""
    message_id = _send_once(record, email, services, first_run=first_run)
    client = record.request.client_email.lower()
    if [address.lower() for address in email.to] == [client]:
        services.store.index_message(message_id, record.request.id)
    return message_id


def _send_once(
    record: RequestRecord, email: Email, services: Services, *, first_run: bool = False
) -> str:
    """Send unless the email already went (it carries its key, so Sent Items can tell).

    When an earlier attempt may have sent it, wait until the sent copy had time to show in
    Sent Items before sending again: until then a miss proves nothing. On a request's first
    run nothing can have been sent, so there is nothing to look for.
    """
    if not first_run:
        already = services.mailer.find_sent(email.key)
        if already is not None:
            return already
    request_id = record.request.id
    attempt = record_attempt(record, email.key, services)
    if attempt.earlier_unknown and attempt.earlier_age < SENT_ITEMS_SETTLE_SECONDS:
        attempt.did_nothing(request_id, services)
        raise ExternalUnavailable(
            f"An earlier attempt may have sent {email.key}; waiting for Sent Items to show it.",
            system="mail",
        )
    try:
        # Looked just now, or a first run: the adapter need not look again before its first
        # try (it still looks before each retry of its own).
        return services.mailer.send(replace(email, first_attempt=True))
    except ExternalError as exc:
        attempt.failed(exc, request_id, services)
        raise
