"""What an open form may make the company mailbox send (issue 11, item 9).

A form open to anyone lets anyone type any address as the client's: every response would
make our mailbox write to that address. When Forms names the responder (a signed-in form),
that address is the client's and is emailed without limit. Otherwise the client's emails
(the confirmation, and the planning email of a client DevOps does not know) are sent for at
most ``confirmations_per_address_per_hour`` requests per typed address and
``confirmations_per_form_per_hour`` per form, counted through the Store in the hours of the
one clock. Over either, the request is still recorded and created, and triaged as any other;
only the client is not emailed: the decision is recorded once per request and the
coordinator's email says so.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from intake.models import RequestRecord
from intake.ports import Services

log = logging.getLogger(__name__)
CLAIM = "client_email_allowance"


def client_email_allowance(record: RequestRecord, services: Services) -> dict[str, Any]:
    """``{"send": True}``, or ``{"send": False, "reason": ...}`` (for the coordinator): the
    same answer for every step and every replay of the request (claimed once)."""
    request, settings = record.request, services.settings
    if request.client_email_from_responder:
        return {"send": True, "why": "the form's signed-in responder"}
    hour = services.clock().strftime("%Y-%m-%dT%H")
    limits = (
        (
            f"address-{_digest(request.client_email.strip().lower())}",
            settings.confirmations_per_address_per_hour,
            "this address",
        ),
        (f"form-{_digest(request.form_id)}", settings.confirmations_per_form_per_hour, "this form"),
    )
    decision: dict[str, Any] = {"send": True, "why": "within the open form's limits"}
    for counter, limit, whose in limits:
        if not services.store.take_email_allowance(counter, hour, request.id, limit):
            decision = {
                "send": False,
                "reason": f"more than {limit} requests from {whose} in an hour on an open form "
                "(the typed address may not be the client's)",
            }
            break
    stored = services.store.claim(request.id, CLAIM, decision)
    if not stored["send"]:
        log.warning("request %s: the client is not emailed: %s", request.id, stored["reason"])
    return stored


def skipped(allowance: dict[str, Any]) -> dict[str, Any]:
    """What a client email step records when the allowance says no (nothing was sent)."""
    return {"skipped": True, "reason": allowance["reason"]}


def _digest(text: str) -> str:
    # Counters name no address: a digest, safe in any store key.
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
