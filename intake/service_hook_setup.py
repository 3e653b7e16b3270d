"""Make and show the DevOps service hook subscriptions (``python -m intake hooks``).

Idempotent: for each event the subscription with the same event and URL is kept, or updated
when its inputs differ (another secret, a filter, disabled), never made twice; the rules are
``intake.hook_subscriptions``'.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from intake.config import Settings
from intake.hook_subscriptions import (
    HookSubscription,
    Step,
    hook_url,
    plan,
    subscriptions_for,
)
from intake.ports import ServiceHooks


@dataclass(frozen=True)
class Outcome:
    step: Step
    subscription: HookSubscription  # as DevOps answered (created or updated) or found (kept)


def create_hooks(settings: Settings, hooks: ServiceHooks) -> list[Outcome]:
    """Create or update what is missing or differs; the settings are complete (see
    ``hook_subscriptions.missing_settings``)."""
    wanted = subscriptions_for(settings, hooks.project_id())
    outcomes = []
    for step in plan(wanted, hooks.subscriptions()):
        if step.action == "create":
            done = hooks.create_subscription(step.wanted)
        elif step.action == "update":
            assert step.existing is not None
            done = hooks.update_subscription(replace(step.wanted, id=step.existing.id))
        else:
            assert step.existing is not None
            done = step.existing
        outcomes.append(Outcome(step, done))
    return outcomes


def related_hooks(settings: Settings, hooks: ServiceHooks) -> list[HookSubscription]:
    """The work item event subscriptions of the project, and any to this app's URL."""
    project_id = hooks.project_id().lower()
    url = hook_url(settings.public_base_url).lower() if settings.public_base_url else None
    return [
        found
        for found in hooks.subscriptions()
        if found.project_id == project_id or (url and found.url.rstrip("/").lower() == url)
    ]
