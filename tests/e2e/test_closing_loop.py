"""Closing the loop over HTTP (issue 15): Create PBI with its fix version, the PBI set to Done
by a person on the board, the follow-up timer's reply offering Close and tell the client, the
coordinator's click (a Teams invoke to /api/messages), and the client's email; each once."""

from __future__ import annotations

from typing import Any

import pytest

from tests.adaptive_cards import assert_valid_card, inputs, texts, verbs
from tests.conftest import SAMPLE
from tests.e2e.client import LocalHostClient

pytestmark = pytest.mark.e2e


def replies(client: LocalHostClient) -> list[dict[str, Any]]:
    return [reply for thread in client.threads() for reply in thread["replies"]]


def test_a_done_pbi_offers_the_close_and_the_click_closes_with_done_once(tmp_path):
    with LocalHostClient.started(tmp_path / "host") as client:
        client.set_clock("2026-12-07T09:00:00Z")  # Mon, in business hours
        request_id = client.submit(SAMPLE).json()["requestId"]
        client.wait_until_done(request_id)
        thread = client.thread_of(request_id)
        request_item = client.status(request_id)["workItemId"]

        # The scrum master's form offers the iteration: current sprint first and chosen.
        morgan = client.click(thread, "Morgan", "refresh", trigger="automatic")
        (iteration,) = inputs(morgan, "iteration")
        assert iteration["choices"][-1] == {
            "title": "Backlog (no version yet)",
            "value": "@backlog",
        }
        assert iteration["value"] == iteration["choices"][0]["value"]
        (resolution,) = inputs(morgan, "resolution")
        assert resolution["value"] == "Won't Do"
        assert "Done" not in [c["value"] for c in resolution["choices"]]

        client.click(thread, "Morgan", "create_pbi", {"iteration": "@current"})
        client.wait_until_idle()
        (pbi,) = [w for w in client.work_items() if w["type"] == "Product Backlog Item"]
        assert pbi["fields"]["System.IterationPath"] == "Intake\\Sprint 1"
        (proceed,) = [
            c["html"]
            for c in client.work_item(request_item)["comments"]
            if "will proceed" in c["html"]
        ]
        assert "Fix version: Sprint 1." in proceed

        # A person sets the PBI to Done on the board; the timer runs five minutes later.
        client.person_moves(pbi["id"], "Done")
        client.set_clock("2026-12-07T09:05:00Z")
        (offer,) = [r for r in replies(client) if r["key"].startswith(f"done:{pbi['id']}:")]
        assert f"Product Backlog Item #{pbi['id']}" in offer["text"]
        assert "is Done in Sprint 1" in offer["text"]
        assert "Close and tell the client" in offer["text"]
        card = client.thread_of(request_id)["card"]
        assert verbs(card) == ["close_done"]  # everyone's view: the server checks who
        assert_valid_card(card)
        client.run_follow_up()  # a second run at the same instant says nothing more
        assert [r["key"] for r in replies(client)].count(offer["key"]) == 1

        # Support staff are refused; the coordinator's click closes with Done.
        alex = client.click(thread, "Alex", "close_done")
        assert any("Only the coordinator or a scrum master" in t for t in texts(alex))
        client.wait_until_idle()
        assert client.work_item(request_item)["state"] != "Closed"
        client.click(thread, "Casey", "close_done")
        client.wait_until_idle()
        request = client.work_item(request_item)
        assert request["state"] == "Closed"
        assert request["fields"]["Microsoft.VSTS.Common.ResolvedReason"] == "Done"
        (email,) = [m for m in client.outbox() if m["subject"].startswith("Your request is done")]
        assert email["to"] == ["jordan.rivera@fabrikam.example"]
        assert f"Product Backlog Item #{pbi['id']}" in email["text"]
        assert "in Sprint 1" in email["text"] and "Resolution: Done" in email["text"]
        final = client.thread_of(request_id)["card"]
        assert any("Closed (resolution Done) by Casey Coordinator" in t for t in texts(final))
        assert verbs(final) == []
        assert_valid_card(final)

        # Later timer runs add nothing: no reply, no email, no second close.
        said, sent = len(replies(client)), len(client.outbox())
        client.set_clock("2026-12-07T09:10:00Z")
        client.run_follow_up()
        assert len(replies(client)) == said and len(client.outbox()) == sent
        again = client.click(thread, "Morgan", "close_done")
        assert any("Already closed by Casey Coordinator" in t for t in texts(again))
