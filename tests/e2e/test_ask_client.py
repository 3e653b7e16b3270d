"""Asking the client and the no-response cadence over HTTP with the frozen clock (issue 15):
Ask the client from the card (/api/messages) → the question by email, as a #client comment,
the request Waiting on Client → Day 5 and Day 9 asked again → closed on Day 10 with "No
response", each exactly once, a second timer run at each instant adding nothing; and a reply
on Day 6 stops it: no Day 9 email, the request back in its previous state."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import sample_submission
from tests.e2e.client import LocalHostClient

pytestmark = pytest.mark.e2e

# The example two weeks later (the local clock never goes back): Europe/Paris,
# Mon-Fri 09:00-18:00, holiday Mon 2026-12-21.
CALENDAR = json.dumps(
    {
        "timezone": "Europe/Paris",
        "week": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": ["2026-12-21"],
    }
)
CLIENT = "pat.newcomer@fabrikam.example"
QUESTION = "Which browser shows the blank page?\nA screenshot would help <a lot>."
ASKED_AT = "2026-12-15T10:00:00Z"  # Tue 15 Dec 11:00 Paris: Day 1
DAY_5 = "2026-12-22T10:00:00Z"  # Tue 22 Dec 11:00 CET (Mon 21 is a holiday)
DAY_9 = "2026-12-28T10:00:00Z"  # Mon 28 Dec 11:00 CET
DAY_10 = "2026-12-29T10:00:00Z"  # Tue 29 Dec 11:00 CET


def to_client(client: LocalHostClient) -> list[dict[str, Any]]:
    return [m for m in client.outbox() if m["to"] == [CLIENT]]


def asked(client: LocalHostClient) -> tuple[str, int, dict[str, Any], int]:
    """A request (client without a DevOps identity) asked a question by the coordinator;
    returns its id, work item, the card's thread and the client's emails before the ask."""
    client.set_clock("2026-12-15T08:30:00Z")
    receipt = client.submit(sample_submission(client_email=CLIENT, title="Blank page")).json()
    client.wait_until_done(receipt["requestId"])
    request_id = receipt["requestId"]
    item = client.status(request_id)["workItemId"]
    thread = client.thread_of(request_id)
    before = len(to_client(client))
    client.set_clock(ASKED_AT)
    card = client.click(thread, "Casey", "ask_client", {"question": QUESTION})
    assert "on its way to the client" in json.dumps(card)
    client.wait_until_idle()
    return request_id, item, thread, before


def test_asked_then_day_5_and_day_9_then_closed_on_day_10_each_once(tmp_path):
    with LocalHostClient.started(tmp_path / "host", calendar=CALENDAR) as client:
        request_id, item, thread, before = asked(client)
        # The question: one email with the status link, one #client comment, the state.
        (question,) = to_client(client)[before:]
        assert question["subject"].startswith("A question about your request")
        assert "Which browser shows the blank page?" in question["text"]
        assert "&lt;a lot&gt;" in question["html"] and "<a lot>" not in question["html"]
        assert "/api/status/" in question["text"]
        work_item = client.work_item(item)
        assert work_item["state"] == "Waiting on Client"
        ours = [c for c in work_item["comments"] if "#client" in c["html"]]
        assert len(ours) == 1 and "&lt;a lot&gt;" in ours[0]["html"]
        # A stranger to the role cannot ask (the server checks, whatever the card shows).
        refused = client.click(thread, "Alex", "ask_client", {"question": "Hello?"})
        assert "Only the coordinator or a scrum master can ask the client" in json.dumps(refused)
        client.wait_until_idle()
        client.run_follow_up()
        assert len(to_client(client)) == before + 1  # Intake's #client comment not re-sent

        def said_at(now: str) -> list[dict[str, Any]]:
            count = len(to_client(client))
            client.set_clock(now)
            client.run_follow_up()  # a second run at the same instant adds nothing
            return to_client(client)[count:]

        assert said_at("2026-12-22T09:59:00Z") == []
        (again,) = said_at(DAY_5)
        assert again["subject"].startswith("We are still waiting for your answer")
        assert "Which browser shows the blank page?" in again["text"]
        assert said_at("2026-12-25T10:00:00Z") == []
        (last,) = said_at(DAY_9)
        assert last["subject"].startswith("Your request will be closed without your answer")
        assert "close the request in one business day" in last["text"]
        assert client.work_item(item)["state"] == "Waiting on Client"
        assert said_at("2026-12-29T09:59:00Z") == []
        (closed,) = said_at(DAY_10)
        assert closed["subject"].startswith("Your request is closed: no answer")
        assert "reply to this email" in closed["text"]
        work_item = client.work_item(item)
        assert work_item["state"] == "Closed"
        assert work_item["fields"]["Microsoft.VSTS.Common.ResolvedReason"] == "No response"
        closing = [c for c in work_item["comments"] if "No response" in c["html"]]
        assert len(closing) == 1
        notes = [r for t in client.threads() for r in t["replies"] if "No response" in r["text"]]
        assert len(notes) == 1 and notes[0]["posted_at"].startswith("2026-12-29T10:00:00")
        # Nothing more, ever: no state email for Waiting on Client or Closed either.
        assert said_at("2026-12-30T10:00:00Z") == []
        assert [m["subject"].split(" [")[0] for m in to_client(client)[before:]] == [
            "A question about your request",
            "We are still waiting for your answer",
            "Your request will be closed without your answer",
            "Your request is closed: no answer",
        ]
        page = client.page(f"/api/status/{question['text'].split('/api/status/')[1].split()[0]}")
        assert "We are still waiting for your answer" in page


def test_a_reply_on_day_6_stops_the_cadence_and_the_request_goes_back(tmp_path):
    with LocalHostClient.started(tmp_path / "host", calendar=CALENDAR) as client:
        request_id, item, _, before = asked(client)
        (question,) = to_client(client)[before:]
        client.set_clock(DAY_5)
        assert len(to_client(client)) == before + 2
        client.set_clock("2026-12-23T10:00:00Z")  # Day 6
        answer = client.http.post(
            f"{client.base_url}/dev/api/inbox",
            json={
                "from": CLIENT,
                "subject": f"RE: {question['subject']}",
                "text": "Firefox 128, screenshot to follow.",
                "inReplyTo": question["message_id"],
                "messageId": "<answer-1@fabrikam.example>",
            },
            timeout=10,
        )
        assert answer.status_code == 202, answer.text
        client.run_follow_up()  # reads the reply: a comment on the item
        client.run_follow_up()  # sees the answer: back to the previous state
        assert client.work_item(item)["state"] == "In Planning"
        for now in (DAY_9, DAY_10, "2026-12-30T10:00:00Z"):
            client.set_clock(now)
            client.run_follow_up()
        # No Day 9 email, no closing: only the weekly update, 7 days after Day 5's email (the
        # request is open and no longer waiting: issue 15's "at least weekly").
        later = [m["subject"] for m in to_client(client)[before + 2 :]]
        assert later == ["No news yet on your request: Being triaged [#1]"]
        assert client.work_item(item)["state"] == "In Planning"
        assert client.status(request_id)["workItemId"] == item


def test_moved_to_waiting_in_devops_with_a_client_comment_starts_the_same_cadence(tmp_path):
    with LocalHostClient.started(tmp_path / "host", calendar=CALENDAR) as client:
        client.set_clock("2026-12-15T08:30:00Z")
        receipt = client.submit(sample_submission(client_email=CLIENT, title="Blank page")).json()
        client.wait_until_done(receipt["requestId"])
        item = client.status(receipt["requestId"])["workItemId"]
        client.set_clock(ASKED_AT)
        client.person_moves(item, "Waiting on Client")
        client.person_comments(item, "#client Which version do you run?")
        client.set_clock("2026-12-15T10:10:00Z")  # the comment is emailed (client updates)
        before = len(to_client(client))
        client.set_clock(DAY_5)
        client.run_follow_up()
        (again,) = to_client(client)[before:]
        assert again["subject"].startswith("We are still waiting for your answer")
        assert "Which version do you run?" in again["text"]
        assert client.work_item(item)["state"] == "Waiting on Client"
