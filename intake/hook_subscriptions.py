"""The DevOps service hook subscriptions Intake wants, and how existing ones compare (pure).

Two subscriptions, one per event (``workitem.updated``, ``workitem.commented``), from the
``tfs`` publisher, filtered to the project and to the tag the follow-up sweep's WIQL looks for
(so the hook and the sweep see the same work items), to the Web Hooks consumer's
``httpRequest`` action: POST to ``{INTAKE_PUBLIC_BASE_URL}/api/devops/hooks`` with HTTP basic
authentication, the password being ``INTAKE_DEVOPS_HOOK_SECRET``. Only the resource is sent
(the endpoint reads the work item id from it), no messages: payloads stay small.

DevOps never shows a subscription's password back, so the basic-auth user name carries a
fingerprint of the secret (``intake-`` and 12 hex digits of an HMAC-SHA-256 keyed by it): a
rotated secret reads as a changed input, ``hooks create`` sends the new one, and the doctor
can tell a subscription that still sends the old one. The endpoint accepts any user name.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from intake.config import Settings

EVENT_TYPES = ("workitem.updated", "workitem.commented")
HOOK_PATH = "/api/devops/hooks"
PUBLISHER_ID = "tfs"
CONSUMER_ID = "webHooks"
CONSUMER_ACTION_ID = "httpRequest"
RESOURCE_VERSION = "1.0"  # the events' resource version in the service hooks event reference
ENABLED = "enabled"
PASSWORD = "basicAuthPassword"
# Inputs DevOps adds to what it was sent, and keeps to itself.
SERVER_PUBLISHER_INPUTS = frozenset({"tfsSubscriptionId"})
FINGERPRINT_LABEL = b"intake devops service hook user name"


@dataclass(frozen=True)
class HookSubscription:
    """A service hook subscription, as sent to or read from DevOps (fields we use)."""

    event_type: str
    publisher_inputs: Mapping[str, str]
    consumer_inputs: Mapping[str, str]
    id: str | None = None
    status: str = ENABLED
    publisher_id: str = PUBLISHER_ID
    consumer_id: str = CONSUMER_ID
    consumer_action_id: str = CONSUMER_ACTION_ID
    resource_version: str = RESOURCE_VERSION

    @property
    def url(self) -> str:
        return str(self.consumer_inputs.get("url", ""))

    @property
    def project_id(self) -> str:
        return str(self.publisher_inputs.get("projectId", "")).lower()


@dataclass(frozen=True)
class Step:
    """What ``hooks create`` does for one event: create, update (with why) or keep."""

    action: str  # "create" | "update" | "keep"
    wanted: HookSubscription
    existing: HookSubscription | None = None
    differences: tuple[str, ...] = ()
    duplicates: tuple[HookSubscription, ...] = field(default=())


def hook_url(base_url: str) -> str:
    return base_url.rstrip("/") + HOOK_PATH


def user_name(secret: str) -> str:
    """The basic-auth user name that names ``secret`` without revealing it."""
    digest = hmac.new(secret.encode("utf-8"), FINGERPRINT_LABEL, hashlib.sha256).hexdigest()
    return f"intake-{digest[:12]}"


def wanted_subscriptions(
    *, project_id: str, base_url: str, secret: str, tag: str
) -> list[HookSubscription]:
    """The subscriptions this app needs, one per event type."""
    publisher_inputs = {"projectId": project_id, "tag": tag}
    consumer_inputs = {
        "url": hook_url(base_url),
        "basicAuthUsername": user_name(secret),
        PASSWORD: secret,
        "resourceDetailsToSend": "all",
        "messagesToSend": "none",
        "detailedMessagesToSend": "none",
    }
    return [
        HookSubscription(event_type, dict(publisher_inputs), dict(consumer_inputs))
        for event_type in EVENT_TYPES
    ]


def subscriptions_for(settings: Settings, project_id: str) -> list[HookSubscription]:
    """The wanted subscriptions from the settings (the secret and the public URL set)."""
    return wanted_subscriptions(
        project_id=project_id,
        base_url=settings.public_base_url,
        secret=settings.devops_hook_secret.get_secret_value(),
        tag=sweep_tag(settings),
    )


def sweep_tag(settings: Settings) -> str:
    """The tag the follow-up sweep's WIQL filters on (``DevOpsWorkItems.changed_since``)."""
    return (settings.tags or ["intake"])[0]


def missing_settings(settings: Settings) -> str | None:
    """Why the subscriptions cannot be made from these settings, in one line; None if they
    can. DevOps sends basic authentication only over HTTPS, hence a public https URL."""
    if not settings.uses_devops:
        return (
            "DevOps is not configured: set INTAKE_DEVOPS_ORG_URL, INTAKE_DEVOPS_PROJECT and a "
            "PAT or service principal (docs/connect-devops.md)"
        )
    if not settings.devops_hook_secret.get_secret_value():
        return (
            "INTAKE_DEVOPS_HOOK_SECRET is empty: set a random secret (32+ characters), the "
            "same as the Function App's"
        )
    if not settings.public_base_url.startswith("https://"):
        return (
            "INTAKE_PUBLIC_BASE_URL must be the app's public https URL (`azd env get-values` "
            "shows it), not "
            + (repr(settings.public_base_url) if settings.public_base_url else "empty")
        )
    return None


def differences(existing: HookSubscription, wanted: HookSubscription) -> list[str]:
    """What differs, in words; empty when ``existing`` is what is wanted (the password
    aside, which DevOps never shows: the user name stands for it)."""
    found = []
    if existing.status != ENABLED:
        found.append(f"status {existing.status}")
    theirs = {
        key: value
        for key, value in existing.publisher_inputs.items()
        if value not in ("", None) and key not in SERVER_PUBLISHER_INPUTS
    }
    for key in sorted(set(theirs) | set(wanted.publisher_inputs)):
        if str(theirs.get(key, "")).lower() != str(wanted.publisher_inputs.get(key, "")).lower():
            found.append(f"filter {key}")
    for key, value in wanted.consumer_inputs.items():
        if key == PASSWORD or existing.consumer_inputs.get(key) == value:
            continue
        if key == "basicAuthUsername":
            found.append("basic auth (another secret, or none)")
        else:
            found.append(key)
    if existing.resource_version != wanted.resource_version:
        found.append("resourceVersion")
    return found


def same_target(existing: HookSubscription, wanted: HookSubscription) -> bool:
    """Same event and same URL: the one subscription to keep or update, never a second."""
    return (
        existing.publisher_id == wanted.publisher_id
        and existing.consumer_id == wanted.consumer_id
        and existing.consumer_action_id == wanted.consumer_action_id
        and existing.event_type == wanted.event_type
        and existing.url.rstrip("/").lower() == wanted.url.rstrip("/").lower()
    )


def plan(wanted: Sequence[HookSubscription], existing: Sequence[HookSubscription]) -> list[Step]:
    """For each wanted subscription: keep the existing one for its event and URL if it
    matches, update it if it differs, create it if there is none. Extra subscriptions for the
    same event and URL (made by hand) are left alone and reported."""
    steps = []
    for want in wanted:
        matches = [found for found in existing if same_target(found, want)]
        # Prefer one that already matches, then an enabled one: the fewest changes.
        matches.sort(key=lambda found: (bool(differences(found, want)), found.status != ENABLED))
        if not matches:
            steps.append(Step("create", want))
            continue
        first, rest = matches[0], tuple(matches[1:])
        changed = tuple(differences(first, want))
        steps.append(Step("update" if changed else "keep", want, first, changed, rest))
    return steps


def check(wanted: Sequence[HookSubscription], existing: Sequence[HookSubscription]) -> str:
    """The doctor's verdict: a short detail when every wanted subscription exists, is enabled
    and points at this app; else ``LookupError`` saying what is wrong."""
    problems = []
    for step in plan(wanted, existing):
        event = step.wanted.event_type
        if step.existing is None:
            elsewhere = sorted(
                {
                    found.url
                    for found in existing
                    if found.event_type == event
                    and found.url.endswith(HOOK_PATH)
                    and found.project_id == step.wanted.project_id
                }
            )
            where = f" (one points at {', '.join(elsewhere)})" if elsewhere else ""
            problems.append(f"{event} missing{where}")
        elif step.differences:
            problems.append(f"{event}: {', '.join(step.differences)}")
    if problems:
        raise LookupError("; ".join(problems))
    return f"{', '.join(EVENT_TYPES)} enabled, to {wanted[0].url}"
