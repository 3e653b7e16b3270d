"""The service hook subscriptions Intake wants, and how ``hooks create`` and the doctor judge
the ones that exist (pure rules, no DevOps)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from intake.config import Settings
from intake.hook_subscriptions import (
    HookSubscription,
    check,
    missing_settings,
    plan,
    subscriptions_for,
    user_name,
    wanted_subscriptions,
)

SECRET = "s3cret-0123456789abcdef0123456789ab"
URL = "https://app.example/api/devops/hooks"


def wanted(secret: str = SECRET) -> list[HookSubscription]:
    return wanted_subscriptions(
        project_id="P-1", base_url="https://app.example/", secret=secret, tag="intake"
    )


def as_devops_shows(subscription: HookSubscription, **changes: object) -> HookSubscription:
    """What DevOps answers for a subscription it holds: an id, the password hidden, its own
    publisher input added."""
    inputs = {**subscription.consumer_inputs, "basicAuthPassword": "********"}
    shown = replace(
        subscription,
        id=f"id-{subscription.event_type}",
        consumer_inputs=inputs,
        publisher_inputs={**subscription.publisher_inputs, "tfsSubscriptionId": "t"},
    )
    return replace(shown, **changes)  # type: ignore[arg-type]


def test_one_subscription_per_event_to_the_hook_url_with_small_payloads():
    updated, commented = wanted()
    assert (updated.event_type, commented.event_type) == ("workitem.updated", "workitem.commented")
    assert updated.url == URL
    assert updated.publisher_inputs == {"projectId": "P-1", "tag": "intake"}
    assert updated.consumer_inputs["basicAuthPassword"] == SECRET
    assert updated.consumer_inputs["resourceDetailsToSend"] == "all"
    assert updated.consumer_inputs["messagesToSend"] == "none"
    assert updated.consumer_inputs["detailedMessagesToSend"] == "none"


def test_the_user_name_names_the_secret_without_showing_it():
    name = user_name(SECRET)
    assert name.startswith("intake-") and len(name) == len("intake-") + 12
    assert name == user_name(SECRET) and name != user_name(SECRET + "x")
    assert SECRET not in name


def test_nothing_there_means_create_both():
    assert [step.action for step in plan(wanted(), [])] == ["create", "create"]


def test_what_devops_shows_of_our_own_subscriptions_is_kept():
    existing = [as_devops_shows(s) for s in wanted()]
    steps = plan(wanted(), existing)
    assert [(s.action, s.existing) for s in steps] == [("keep", existing[0]), ("keep", existing[1])]
    assert check(wanted(), existing) == (f"workitem.updated, workitem.commented enabled, to {URL}")


def test_a_rotated_secret_disabled_or_refiltered_subscription_is_updated_in_place():
    old = [as_devops_shows(s) for s in wanted("the-old-secret-0123456789abcdef01")]
    old[1] = replace(old[1], status="onProbation", publisher_inputs={"projectId": "P-1"})
    steps = plan(wanted(), old)
    assert [(s.action, s.existing.id if s.existing else None) for s in steps] == [
        ("update", "id-workitem.updated"),
        ("update", "id-workitem.commented"),
    ]
    assert steps[0].differences == ("basic auth (another secret, or none)",)
    assert steps[1].differences == (
        "status onProbation",
        "filter tag",
        "basic auth (another secret, or none)",
    )
    with pytest.raises(LookupError, match="workitem.commented: status onProbation"):
        check(wanted(), old)


def test_another_url_is_another_subscription_and_never_touched():
    elsewhere = as_devops_shows(
        wanted()[0], consumer_inputs={"url": "https://old.example/api/devops/hooks"}
    )
    steps = plan(wanted(), [elsewhere])
    assert [step.action for step in steps] == ["create", "create"]
    with pytest.raises(LookupError) as failed:
        check(wanted(), [elsewhere])
    assert str(failed.value) == (
        "workitem.updated missing (one points at https://old.example/api/devops/hooks); "
        "workitem.commented missing"
    )


def test_of_several_for_the_same_event_and_url_the_matching_one_is_kept_and_others_reported():
    good = as_devops_shows(wanted()[0])
    disabled = replace(good, id="id-2", status="disabledByUser")
    steps = plan(wanted(), [disabled, good])
    assert steps[0].action == "keep" and steps[0].existing == good
    assert steps[0].duplicates == (disabled,)


def test_the_settings_each_missing_piece_is_one_line(tmp_path):
    base = {
        "data_dir": tmp_path,
        "devops_org_url": "https://dev.azure.com/contoso",
        "devops_project": "Support",
        "devops_pat": "pat",
        "devops_hook_secret": SECRET,
        "public_base_url": "https://app.example",
    }
    assert missing_settings(Settings(**base)) is None
    assert "INTAKE_DEVOPS_HOOK_SECRET is empty" in str(
        missing_settings(Settings(**{**base, "devops_hook_secret": ""}))
    )
    assert "not 'http://app.example'" in str(
        missing_settings(Settings(**{**base, "public_base_url": "http://app.example"}))
    )
    assert "DevOps is not configured" in str(missing_settings(Settings(data_dir=tmp_path)))
    settings = Settings(**{**base, "tags": ["support", "intake"]})
    assert subscriptions_for(settings, "P-1")[0].publisher_inputs["tag"] == "support"
