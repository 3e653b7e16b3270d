"""The ``ServiceHooks`` port over Azure DevOps' Service Hooks REST API 7.1 (the SDK's client).

``GET {org}/_apis/hooks/subscriptions?publisherId=tfs&consumerId=webHooks&consumerActionId=
httpRequest`` lists, ``POST`` creates, ``PUT .../subscriptions/{id}`` replaces; the project's id
comes from ``GET {org}/_apis/projects/{project}``. Needs a PAT with the *Service Hooks (Read,
query & manage)* and *Project and Team (Read)* scopes, or a service principal allowed to edit
the project's subscriptions (Project Administrators).
"""

from __future__ import annotations

from typing import Any

from intake.adapters.devops_client import SYSTEM, DevOpsClients, sdk_call
from intake.adapters.retry import with_retries
from intake.config import Settings
from intake.doctor import Check
from intake.hook_subscriptions import (
    CONSUMER_ACTION_ID,
    CONSUMER_ID,
    ENABLED,
    EVENT_TYPES,
    PUBLISHER_ID,
    HookSubscription,
    check,
    missing_settings,
    subscriptions_for,
)

NAME = "DevOps"
CHECK = "service hook subscriptions (work item updated, commented)"


class DevOpsServiceHooks:
    def __init__(self, settings: Settings, clients: DevOpsClients | None = None) -> None:
        self.project = settings.devops_project
        self.clients = clients or DevOpsClients(settings)
        self._project_id: str | None = None

    def project_id(self) -> str:
        if self._project_id is None:
            core = self.clients.core()
            project = with_retries(
                lambda: sdk_call(lambda: core.get_project(self.project)), system=SYSTEM
            )
            self._project_id = str(project.id)
        return self._project_id

    def subscriptions(self) -> list[HookSubscription]:
        hooks = self.clients.hooks()
        found = with_retries(
            lambda: sdk_call(
                lambda: hooks.list_subscriptions(
                    publisher_id=PUBLISHER_ID,
                    consumer_id=CONSUMER_ID,
                    consumer_action_id=CONSUMER_ACTION_ID,
                )
            ),
            system=SYSTEM,
        )
        return [from_sdk(s) for s in found or [] if s.event_type in EVENT_TYPES]

    def create_subscription(self, subscription: HookSubscription) -> HookSubscription:
        # Not retried: a create whose answer was lost must not make a second subscription;
        # running ``hooks create`` again finds the first and keeps it.
        hooks = self.clients.hooks()
        return from_sdk(sdk_call(lambda: hooks.create_subscription(to_sdk(subscription))))

    def update_subscription(self, subscription: HookSubscription) -> HookSubscription:
        hooks = self.clients.hooks()
        body = to_sdk(subscription)
        updated = with_retries(  # a replace is idempotent: safe to retry
            lambda: sdk_call(lambda: hooks.replace_subscription(body, subscription.id)),
            system=SYSTEM,
        )
        return from_sdk(updated)


def doctor_checks(settings: Settings) -> list[Check]:
    """Read-only: both subscriptions exist, are enabled, point at this app and send its
    secret. Without a hook secret the hooks are off by choice: a pass that says so."""
    if not settings.devops_hook_secret.get_secret_value():
        return [Check(NAME, CHECK, lambda: "not configured: the 5-minute sweep finds changes", "")]
    hooks = DevOpsServiceHooks(settings)

    def subscriptions_match() -> str:
        problem = missing_settings(settings)
        if problem:
            raise LookupError(problem)
        return check(subscriptions_for(settings, hooks.project_id()), hooks.subscriptions())

    fix = (
        "run python -m intake hooks create (the PAT needs the Service Hooks: Read, query & "
        "manage scope), or create them as docs/connect-devops.md shows"
    )
    return [Check(NAME, CHECK, subscriptions_match, fix)]


def to_sdk(subscription: HookSubscription) -> Any:
    """The SDK's ``Subscription`` with what we set, and nothing DevOps fills in itself."""
    from azure.devops.v7_1.service_hooks.models import Subscription

    return Subscription(
        id=subscription.id,
        publisher_id=subscription.publisher_id,
        event_type=subscription.event_type,
        resource_version=subscription.resource_version,
        consumer_id=subscription.consumer_id,
        consumer_action_id=subscription.consumer_action_id,
        publisher_inputs=dict(subscription.publisher_inputs),
        consumer_inputs=dict(subscription.consumer_inputs),
        status=ENABLED,  # an update re-enables one DevOps disabled or put on probation
    )


def from_sdk(found: Any) -> HookSubscription:
    return HookSubscription(
        event_type=str(found.event_type or ""),
        publisher_inputs={k: str(v) for k, v in (found.publisher_inputs or {}).items()},
        consumer_inputs={k: str(v) for k, v in (found.consumer_inputs or {}).items()},
        id=str(found.id) if found.id else None,
        status=str(found.status or ENABLED),
        publisher_id=str(found.publisher_id or ""),
        consumer_id=str(found.consumer_id or ""),
        consumer_action_id=str(found.consumer_action_id or ""),
        resource_version=str(found.resource_version or ""),
    )
