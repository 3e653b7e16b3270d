"""``python -m intake hooks create`` makes the DevOps service hook subscriptions (work item
updated, commented) that post to this app; ``hooks list`` shows them. ``create`` is what
azd's postprovision hook runs (infra/hooks/postprovision.sh); running it again changes
nothing unless something differs.
"""

from __future__ import annotations

import argparse
from typing import Any

from intake import bootstrap
from intake.cli.configured import configured_settings
from intake.config import Settings
from intake.errors import ExternalError
from intake.hook_subscriptions import (
    EVENT_TYPES,
    HookSubscription,
    hook_url,
    missing_settings,
    user_name,
)
from intake.ports import ServiceHooks
from intake.service_hook_setup import create_hooks, related_hooks


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "hooks", help="the DevOps service hook subscriptions that post changes to this app"
    )
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("create", help="create them, or update them where they differ")
    actions.add_parser("list", help="show them (read-only)")
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    settings = configured_settings()
    if settings is None:
        return 2
    creating = arguments.action == "create"
    problem = missing_settings(settings)
    if problem and (creating or not settings.uses_devops):
        print(f"Cannot {'create' if creating else 'list'} the service hooks: {problem}.")
        return 2
    hooks = bootstrap.service_hooks(settings)
    try:
        return make(settings, hooks) if creating else show(settings, hooks)
    except ExternalError as exc:
        scope = (
            " (the PAT needs the Service Hooks: Read, query & manage scope; see "
            "docs/connect-devops.md)"
            if exc.remote_status in (401, 403)
            else ""
        )
        print(f"DevOps refused or did not answer: {exc.detail}{scope}")
        return 1


def make(settings: Settings, hooks: ServiceHooks) -> int:
    for outcome in create_hooks(settings, hooks):
        step, done = outcome.step, outcome.subscription
        why = f": {', '.join(step.differences)}" if step.differences else ""
        past = {"create": "created", "update": "updated", "keep": "kept"}[step.action]
        print(f"✓ {step.wanted.event_type}: {past} (id {done.id}){why}")
        if step.duplicates:
            ids = ", ".join(str(found.id) for found in step.duplicates)
            print(f"    also for the same event and URL, left alone: {ids} (delete them by hand)")
    print(f"DevOps now posts work item changes to {hook_url(settings.public_base_url)}.")
    return 0


def show(settings: Settings, hooks: ServiceHooks) -> int:
    url = hook_url(settings.public_base_url) if settings.public_base_url else None
    found = related_hooks(settings, hooks)
    print(f"Service hook subscriptions of {settings.devops_project!r} to work item events:")
    for subscription in found:
        print("  " + _line(subscription, url))
    for event in EVENT_TYPES:
        if not any(s.event_type == event and url and s.url == url for s in found):
            print(f"  {event:<19} missing   run `python -m intake hooks create`")
    secret = settings.devops_hook_secret.get_secret_value()
    if url and secret:
        print(f"This app's: POST {url}, basic auth user name {user_name(secret)}.")
    return 0


def _line(subscription: HookSubscription, url: str | None) -> str:
    mine = "  (this app)" if url and subscription.url.rstrip("/") == url else ""
    return (
        f"{subscription.event_type:<19} {subscription.status:<9} {subscription.url}{mine}"
        f"  id {subscription.id}"
    )
