"""The client hears of each change over HTTP in local mode: a person's #client comment and
state changes on the board (``/dev/api/workitems``) reach the client as one email each, once,
through the follow_up timer that the clock (``/dev/api/clock``) runs; and they show on the
status page."""

from __future__ import annotations

import re

import pytest

from tests.conftest import sample_submission

pytestmark = pytest.mark.e2e
CLIENT = "pat.newcomer@fabrikam.example"
LINK = re.compile(r"(https?://[^\s\"<>]+/api/status/[A-Za-z0-9_-]+)")
INTAKE_EMAILS = 2  # the confirmation and the planning words


def news(client) -> list[dict]:
    to_client = [m for m in client.outbox() if m["to"] == [CLIENT]]
    return to_client[INTAKE_EMAILS:]


def submitted(client) -> int:
    client.set_clock("2026-12-07T09:00:30Z")
    receipt = client.submit(sample_submission(client_email=CLIENT, title="Blank report")).json()
    client.wait_until_done(receipt["requestId"])
    assert len([m for m in client.outbox() if m["to"] == [CLIENT]]) == INTAKE_EMAILS
    return int(client.status(receipt["requestId"])["workItemId"])


def test_a_client_comment_is_one_email_and_shows_on_the_status_page(local_host):
    work_item_id = submitted(local_host)
    local_host.set_clock("2026-12-07T09:01:00Z")
    local_host.person_comments(work_item_id, "internal: their proxy again")
    local_host.person_comments(work_item_id, "#client We found it <b>and</b> fixed it.")
    local_host.set_clock("2026-12-07T09:05:00Z")

    (email,) = news(local_host)
    assert email["subject"] == f"A message about your request [#{work_item_id}]"
    assert "We found it &lt;b&gt;and&lt;/b&gt; fixed it." in email["html"]
    assert "proxy" not in email["html"] + email["text"]
    local_host.run_follow_up()
    local_host.set_clock("2026-12-07T09:10:00Z")
    assert len(news(local_host)) == 1

    (link,) = set(LINK.findall(email["text"]))
    page = local_host.http.get(link, timeout=10).text
    assert "We found it &lt;b&gt;and&lt;/b&gt; fixed it." in page
    assert 'class="comment"' in page and "proxy" not in page


def test_a_person_s_state_change_is_one_email_with_the_new_label(local_host):
    work_item_id = submitted(local_host)
    local_host.set_clock("2026-12-07T09:01:00Z")
    local_host.person_moves(work_item_id, "On Hold")
    local_host.set_clock("2026-12-07T09:05:00Z")
    assert news(local_host) == []  # younger than the merge window
    local_host.set_clock("2026-12-07T09:10:00Z")
    local_host.run_follow_up()

    (email,) = news(local_host)
    assert email["subject"] == f"Your request is now: Waiting for information [#{work_item_id}]"
    (link,) = set(LINK.findall(email["text"]))
    page = local_host.http.get(link, timeout=10).text
    assert "Status: Waiting for information" in page


def test_two_changes_within_the_window_are_one_email(local_host):
    work_item_id = submitted(local_host)
    local_host.set_clock("2026-12-07T09:01:00Z")
    local_host.person_moves(work_item_id, "On Hold")
    local_host.set_clock("2026-12-07T09:03:00Z")
    local_host.person_moves(work_item_id, "Active")
    local_host.set_clock("2026-12-07T09:05:00Z")
    local_host.set_clock("2026-12-07T09:10:00Z")
    local_host.set_clock("2026-12-07T09:15:00Z")

    assert [m["subject"] for m in news(local_host)] == [
        f"Your request is now: In progress [#{work_item_id}]"
    ]
