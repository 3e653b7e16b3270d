"""Replies by email over HTTP in local mode: an email lands through ``POST /dev/api/inbox``,
the follow_up timer reads it, and it becomes a comment, a thread note and a line on the
client's status page (issue 14) — once, and only from the request's client."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from tests.conftest import sample_submission
from tests.problem_shape import assert_problem as problem_shape

pytestmark = pytest.mark.e2e
CLIENT = "pat.newcomer@fabrikam.example"
COORDINATOR = "casey@contoso.example"
LINK = re.compile(r"(https?://[^\s\"<>]+/api/status/[A-Za-z0-9_-]+)")
REPLY = (
    "It happens on every page.\n\n"
    "On Mon, 7 Dec 2026, Intake <intake@contoso.example> wrote:\n> We received your request"
)


def deliver(client: Any, **email: Any) -> dict[str, Any]:
    answer = client.http.post(f"{client.base_url}/dev/api/inbox", json=email, timeout=10)
    assert answer.status_code == 202, answer.text
    result: dict[str, Any] = answer.json()
    return result


def submitted(client: Any) -> tuple[str, dict[str, Any]]:
    """A request whose client has no DevOps identity, and the confirmation email it got."""
    receipt = client.submit(sample_submission(client_email=CLIENT, title="Blank page")).json()
    client.wait_until_done(receipt["requestId"])
    confirmation = next(m for m in client.outbox() if m["to"] == [CLIENT])
    return receipt["requestId"], confirmation


def notes(client: Any) -> list[dict[str, Any]]:
    return [p for p in client.host.services.channel.posts() if p.get("reply_to")]


def status_page(client: Any, email: dict[str, Any]) -> str:
    (link,) = set(LINK.findall(email["html"]))
    return str(client.page(link[len(client.base_url) :]))


def test_a_reply_naming_our_email_becomes_one_comment_one_note_and_a_line_on_the_page(
    local_host,
):
    _, confirmation = submitted(local_host)
    comments_before = len(local_host.work_item(1)["comments"])
    email = {
        "from": CLIENT.upper(),  # addresses compare case-insensitively
        "subject": f"RE: {confirmation['subject']}",
        "text": REPLY,
        "inReplyTo": confirmation["message_id"],
        "messageId": "<reply-1@fabrikam.example>",
        "attachments": [
            {
                "name": "screen.png",
                "contentType": "image/png",
                "contentBase64": base64.b64encode(b"\x89PNG-bytes").decode(),
            }
        ],
    }
    deliver(local_host, **email)
    local_host.run_follow_up()

    comments = local_host.work_item(1)["comments"][comments_before:]
    assert len(comments) == 1
    assert (
        "Reply from" in comments[0]["html"] and "It happens on every page." in comments[0]["html"]
    )
    assert "We received your request" not in comments[0]["html"]  # the history is cut
    (attachment,) = local_host.work_item(1)["attachments"]
    assert (attachment["name"], attachment["size"]) == ("screen.png", 10)
    (note,) = notes(local_host)
    assert "replied by email" in note["text"] and "#1" in note["text"]
    assert "Your reply: It happens on every page." in status_page(local_host, confirmation)

    # The same message read twice (delivered again, the timer run again): nothing new.
    deliver(local_host, **email)
    local_host.run_follow_up()
    local_host.run_follow_up()
    assert len(local_host.work_item(1)["comments"][comments_before:]) == 1
    assert len(local_host.work_item(1)["attachments"]) == 1
    assert len(notes(local_host)) == 1
    assert status_page(local_host, confirmation).count("Your reply:") == 1


def test_the_right_tag_from_the_wrong_sender_writes_nothing_and_goes_to_the_coordinator(
    local_host,
):
    _, confirmation = submitted(local_host)
    comments_before = len(local_host.work_item(1)["comments"])
    outbox_before = len(local_host.outbox())
    deliver(
        local_host,
        **{
            "from": "mallory@evil.example",
            "subject": "RE: Blank page [#1]",
            "text": "Please close this and send me the data.",
            "messageId": "<stranger-1@evil.example>",
        },
    )
    local_host.run_follow_up()
    local_host.run_follow_up()

    assert len(local_host.work_item(1)["comments"]) == comments_before
    assert notes(local_host) == []
    new = local_host.outbox()[outbox_before:]
    assert [(m["to"], m["subject"]) for m in new] == [
        ([COORDINATOR], "Unmatched reply: RE: Blank page [#1]")
    ]
    assert "mallory@evil.example" in new[0]["text"]
    assert "Your reply" not in status_page(local_host, confirmation)


def test_an_out_of_office_is_on_the_page_and_nowhere_else(local_host):
    _, confirmation = submitted(local_host)
    comments_before = len(local_host.work_item(1)["comments"])
    outbox_before = len(local_host.outbox())
    deliver(
        local_host,
        **{
            "from": CLIENT,
            "subject": f"Automatic reply: {confirmation['subject']}",
            "text": "I am out of the office until Monday.",
            "inReplyTo": confirmation["message_id"],
            "headers": {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
        },
    )
    local_host.run_follow_up()

    assert len(local_host.work_item(1)["comments"]) == comments_before
    assert notes(local_host) == []
    assert len(local_host.outbox()) == outbox_before
    assert local_host.work_item(1)["state"] == "In Planning"
    assert "An automatic reply from your mailbox" in status_page(local_host, confirmation)


def test_a_reply_to_a_recently_closed_request_reopens_it(local_host):
    request_id, confirmation = submitted(local_host)
    thread = local_host.thread_of(request_id)
    local_host.click(thread, "Morgan", "close_not_our_problem", {"rootCause": "Proxy"})
    local_host.wait_until_idle()
    assert local_host.work_item(1)["state"] == "Closed"

    deliver(
        local_host,
        **{
            "from": CLIENT,
            "subject": "RE: Your request is closed [#1]",
            "text": "It is not the proxy: it fails at home too.",
        },
    )
    local_host.run_follow_up()

    item = local_host.work_item(1)
    assert item["state"] == "In Planning"
    assert "it fails at home too" in item["comments"][-1]["html"]
    assert "(the request was reopened)" in status_page(local_host, confirmation)


def test_bad_inbox_input_is_a_problem(local_host):
    url = f"{local_host.base_url}/dev/api/inbox"
    for body in ({"subject": "no sender"}, {"from": "not an address", "subject": "x"}):
        answer = local_host.http.post(url, json=body, timeout=10)
        assert answer.status_code == 422, answer.text
        problem_shape(answer.status_code, answer.headers, answer.content)
    answer = local_host.http.post(url, data=b"{", timeout=10)
    assert answer.status_code == 400
    problem_shape(answer.status_code, answer.headers, answer.content)


def test_a_reply_long_after_closing_becomes_a_new_linked_request_and_the_client_learns_its_number(
    local_host,
):
    local_host.set_clock("2026-12-07T09:00:00Z", timeout=120)
    request_id, _ = submitted(local_host)
    thread = local_host.thread_of(request_id)
    local_host.click(thread, "Morgan", "close_not_our_problem", {"rootCause": "Proxy"})
    local_host.wait_until_idle()
    local_host.set_clock(
        "2026-12-18T09:01:00Z", timeout=120
    )  # 11 days later: past INTAKE_REOPEN_DAYS (10)

    deliver(
        local_host,
        **{"from": CLIENT, "subject": "RE: Your request is closed [#1]", "text": "Back again."},
    )
    local_host.run_follow_up()

    assert local_host.work_item(1)["state"] == "Closed"
    assert "became a new request, #2" in local_host.work_item(1)["comments"][-1]["html"]
    new = local_host.work_item(2)
    assert new["title"] == "Blank page (follows #1)"
    assert {"source_id": 2, "target_id": 1, "relation": "System.LinkTypes.Related"} in new["links"]
    told = [m["subject"] for m in local_host.outbox() if m["to"] == [CLIENT]]
    assert "We received your request #2: Blank page (follows #1) [#2]" in told
