"""The DevOps service hook: DevOps tells Intake that a work item changed or was commented on.

The hook only marks the work item changed (``follow_up.announce_change``); the ``follow_up``
timer reads its history on its next run. So the endpoint is fast, a burst of edits costs one
read, and a lost or repeated notification changes nothing: the sweep (WIQL on
``System.ChangedDate``) finds whatever a hook missed. See docs/connect-devops.md for
the subscriptions (``python -m intake hooks create`` makes them).

Authentication: DevOps' Web Hooks consumer can send HTTP basic authentication but not a
function key header of our naming that it would keep secret, so the route is anonymous at the
Functions host and checks the basic-auth password against ``INTAKE_DEVOPS_HOOK_SECRET`` here,
in constant time (any user name). No secret configured: every hook is refused.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from intake import follow_up
from intake.errors import IntakeError
from intake.hook_subscriptions import EVENT_TYPES
from intake.ports import Services

log = logging.getLogger(__name__)

# The events the subscriptions send (intake/hook_subscriptions.py); others are answered and
# ignored.
WORK_ITEM_EVENTS = EVENT_TYPES
MAX_HOOK_BYTES = 1_048_576  # a work item's whole field set can come along; more is not DevOps


class UnauthenticatedHook(IntakeError):
    """Raised when a service hook call lacks the shared secret (or none is configured)."""

    status = 401
    slug = "unauthenticated-hook"
    title = "The service hook is not authenticated"


class InvalidHookEvent(IntakeError):
    """Raised when a service hook body is not a DevOps work item event."""

    status = 422
    slug = "invalid-hook-event"
    title = "Not a DevOps work item event"


@dataclass(frozen=True)
class HookReceipt:
    event_type: str
    work_item_id: int | None  # None: an event we do not follow, ignored

    def as_json(self) -> dict[str, Any]:
        return {"eventType": self.event_type, "workItemId": self.work_item_id}


def receive_hook(body: bytes, authorization: str | None, services: Services) -> HookReceipt:
    """Check the secret, read the event, mark its work item changed."""
    check_secret(authorization, services.settings.devops_hook_secret.get_secret_value())
    event = parse_event(body)
    event_type = str(event.get("eventType", ""))
    if event_type not in WORK_ITEM_EVENTS:
        log.info("service hook: %s ignored", event_type or "an event without a type")
        return HookReceipt(event_type, None)
    work_item_id = work_item_of(event)
    follow_up.announce_change(work_item_id, services)
    log.info("service hook: %s for work item %d", event_type, work_item_id)
    return HookReceipt(event_type, work_item_id)


def check_secret(authorization: str | None, secret: str) -> None:
    if not secret:
        raise UnauthenticatedHook("No service hook secret is configured here.")
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise UnauthenticatedHook("Send the shared secret by HTTP basic authentication.")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise UnauthenticatedHook("The basic authentication header is malformed.") from None
    _, _, password = decoded.partition(":")
    if not hmac.compare_digest(password.encode("utf-8"), secret.encode("utf-8")):
        raise UnauthenticatedHook("The shared secret does not match.")


def parse_event(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_HOOK_BYTES:
        raise InvalidHookEvent(f"The body is larger than {MAX_HOOK_BYTES:,} bytes.")
    try:
        event = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidHookEvent("The body is not JSON.") from None
    if not isinstance(event, dict):
        raise InvalidHookEvent("The body is not a JSON object.")
    return event


def work_item_of(event: dict[str, Any]) -> int:
    """The work item an event is about. ``workitem.updated``'s resource is the update (its
    ``id`` is the update's number, ``workItemId`` the work item's); ``workitem.commented``'s
    resource is the work item itself."""
    resource = event.get("resource")
    if not isinstance(resource, dict):
        raise InvalidHookEvent("The event has no resource.", errors=[_error("resource")])
    if event.get("eventType") == "workitem.updated":
        value, name = resource.get("workItemId"), "resource.workItemId"
    else:
        value, name = resource.get("id"), "resource.id"
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidHookEvent(f"{name} is not a work item id.", errors=[_error(name)])
    return value


def _error(field: str) -> dict[str, str]:
    return {"field": field, "message": "missing or not a work item id"}
