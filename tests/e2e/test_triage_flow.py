"""Triage over HTTP: Teams-shaped adaptiveCard/action invokes to /api/messages on the local host."""

from __future__ import annotations

import threading

import pytest

from tests.adaptive_cards import assert_valid_card, elements, texts, verbs
from tests.conftest import SAMPLE

pytestmark = pytest.mark.e2e
NOT_SCRUM_MASTER = "Only a scrum master can decide. Your click changed nothing."


@pytest.fixture
def thread(local_host):
    receipt = local_host.submit(SAMPLE).json()
    local_host.wait_until_done(receipt["requestId"])
    return local_host.thread_of(receipt["requestId"])


def tally(card):
    return next(t for t in texts(card) if t.startswith("Votes:") or t == "No votes yet.")


def test_votes_are_tallied_for_everyone_and_written_once_with_the_decision(local_host, thread):
    local_host.click(thread, "Alex", "vote", {"vote": "not_our_problem"})
    local_host.click(thread, "Sam", "vote", {"vote": "proceed"})
    mine = local_host.click(thread, "Alex", "vote", {"vote": "proceed"})  # changes the vote
    assert tally(mine) == "Votes: Not our problem 0 · Bug / Feature request 0 · Proceed 2"
    local_host.wait_until_idle()

    everyone = local_host.thread_of(local_host.request_id_of(thread))
    assert everyone["updates"] == 3
    assert tally(everyone["card"]) == tally(mine)
    voters = next(i for i in everyone["card"]["body"] if i.get("id") == "voters")
    assert voters["facts"] == [
        {"title": "Alex Support", "value": "Proceed"},
        {"title": "Sam Support", "value": "Proceed"},
    ]
    # Someone who did not click sees the same tally when Teams refreshes their card.
    casey = local_host.click(thread, "Casey", "refresh", trigger="automatic")
    assert tally(casey) == tally(mine)
    # No comment per click: each would notify every follower of the work item (issue 12).
    comments = local_host.work_item(1)["comments"]
    assert [c for c in comments if "voted" in c["html"]] == []

    local_host.click(thread, "Morgan", "create_pbi")
    local_host.wait_until_idle()
    (decided,) = [c["html"] for c in local_host.work_item(1)["comments"] if "voted" in c["html"]]
    assert "Votes when decided: Not our problem: none; Bug / Feature request: none; " in decided
    assert "Proceed: Alex Support, Sam Support." in decided
    lines = [line.split(" UTC ", 1)[1] for line in decided.split("<li>")[1:]]
    assert lines == [
        "Alex Support voted Not our problem</li>",
        "Sam Support voted Proceed</li>",
        "Alex Support voted Proceed (instead of Not our problem)</li></ul>",
    ]
    assert_valid_card(everyone["card"])
    assert_valid_card(mine)


@pytest.mark.parametrize(
    ("verb", "data"),
    [
        ("create_pbi", {"tasks": "x"}),
        ("close_not_our_problem", {"rootCause": "x"}),
        ("create_bug_or_feature", {"bugOrFeature": "bug"}),
        ("sprint_urgent", {}),
        ("handle_in_sprint", {}),
    ],
)
def test_support_staff_are_refused_on_every_decision_verb(local_host, thread, verb, data):
    staff_view = local_host.click(thread, "Alex", "refresh")
    assert verbs(staff_view) == ["vote", "vote", "vote"]  # no decision actions shown
    card = local_host.click(thread, "Alex", verb, data)  # ...and a forged click is refused
    assert NOT_SCRUM_MASTER in texts(card)
    local_host.wait_until_idle()
    assert len(local_host.work_items()) == 1
    assert local_host.work_items()[0]["state"] == "In Planning"
    assert local_host.thread_of(local_host.request_id_of(thread))["updates"] == 0


def test_create_pbi_then_sprint_urgent(local_host, thread):
    morgan = local_host.click(thread, "Morgan", "refresh", trigger="automatic")
    assert {"create_pbi", "close_not_our_problem", "create_bug_or_feature"} <= set(verbs(morgan))
    assert thread["card"]["refresh"]["userIds"] == [
        local_host.person("Morgan")["teams_id"],
        local_host.person("Casey")["teams_id"],  # the coordinator: Ask the client
    ]

    card = local_host.click(thread, "Morgan", "create_pbi", {"tasks": "Add index\nLoad test"})
    assert any("Working on it" in t for t in texts(card))
    local_host.wait_until_idle()

    items = {w["id"]: w for w in local_host.work_items()}
    request = items[1]
    (pbi,) = [w for w in items.values() if w["type"] == "Product Backlog Item"]
    tasks = [w for w in items.values() if w["type"] == "Task"]
    assert sorted(t["title"] for t in tasks) == ["Add index", "Load test"]
    assert {"source_id": 1, "target_id": pbi["id"], "relation": "System.LinkTypes.Related"} in (
        request["links"]
    )
    proceed = [c for c in request["comments"] if "will proceed" in c["html"]]
    assert len(proceed) == 1
    assert proceed[0]["mention"] == "casey@contoso.example"
    assert "@Casey Coordinator</a> <p>This dev support issue will proceed" in proceed[0]["html"]
    # The client hears it is accepted and being planned: no PBI number, no sprint.
    (accepted,) = [m for m in local_host.outbox() if "accepted" in m["subject"]]
    assert accepted["to"] == ["jordan.rivera@fabrikam.example"]
    assert f"{local_host.base_url}/api/status/" in accepted["text"]  # the status link
    assert f"#{pbi['id']}" not in accepted["text"] and "sprint" not in accepted["text"].lower()

    everyone = local_host.thread_of(local_host.request_id_of(thread))["card"]
    assert verbs(everyone) == []  # decided: the buttons no longer act
    assert any(f"PBI #{pbi['id']} created and linked" in t for t in texts(everyone))
    assert any(a.get("title") == f"Open PBI #{pbi['id']}" for a in _open_urls(everyone))
    late = local_host.click(thread, "Sam", "vote", {"vote": "not_our_problem"})
    assert "Voting is closed: this is decided." in texts(late)

    morgan = local_host.click(thread, "Morgan", "refresh", trigger="automatic")
    assert verbs(morgan) == ["sprint_urgent", "handle_in_sprint", "ask_client"]
    local_host.click(thread, "Morgan", "sprint_urgent")
    local_host.wait_until_idle()
    pbi = local_host.work_item(pbi["id"])
    assert pbi["fields"]["System.IterationPath"] == "Intake\\Sprint 1"
    assert "sprint-urgent" in pbi["fields"]["System.Tags"]
    assert pbi["fields"]["Microsoft.VSTS.Common.Priority"] == 1
    final = local_host.thread_of(local_host.request_id_of(thread))["card"]
    assert any("Sprint-urgent (Morgan Scrum): the PBI is in Sprint 1" in t for t in texts(final))
    said = [c["html"] for c in local_host.work_item(1)["comments"]]
    assert any(
        f"Sprint-urgent (decided by Morgan Scrum): PBI #{pbi['id']} is in Sprint 1" in h
        for h in said
    )
    assert verbs(local_host.click(thread, "Morgan", "refresh")) == ["ask_client"]
    assert_valid_card(final)
    assert_valid_card(morgan)


def test_not_our_problem_comments_emails_and_closes(local_host, thread):
    local_host.click(
        thread, "Morgan", "close_not_our_problem", {"rootCause": "Client's proxy blocks TLS 1.3"}
    )
    local_host.wait_until_idle()
    request = local_host.work_item(1)
    assert request["state"] == "Closed"
    assert "Root cause: Client&#39;s proxy blocks TLS 1.3" in request["comments"][-1]["html"]
    (email,) = [m for m in local_host.outbox() if "closed" in m["subject"]]
    assert email["to"] == ["jordan.rivera@fabrikam.example"]
    assert "Client's proxy blocks TLS 1.3" in email["text"]
    card = local_host.thread_of(local_host.request_id_of(thread))["card"]
    assert any("client was told by email" in t for t in texts(card))
    assert_valid_card(card)


def test_concurrent_create_pbi_clicks_make_one_pbi(local_host, thread):
    morgan = local_host.person("Morgan")
    cards = []

    def click() -> None:
        cards.append(local_host.click(thread, morgan, "create_pbi"))

    clicks = [threading.Thread(target=click) for _ in range(6)]
    for each in clicks:
        each.start()
    for each in clicks:
        each.join()
    local_host.wait_until_idle()
    assert len(cards) == 6
    types = [w["type"] for w in local_host.work_items()]
    assert types.count("Product Backlog Item") == 1
    comments = local_host.work_item(1)["comments"]
    assert len([c for c in comments if "will proceed" in c["html"]]) == 1


def _open_urls(card):
    return [node for node in elements(card) if node.get("type") == "Action.OpenUrl"]


def test_the_channel_page_loads_the_official_renderer_from_the_local_host(local_host, thread):
    page = local_host.page("/dev/channel")
    assert '<script src="/dev/vendor/adaptivecards.min.js"></script>' in page
    assert '<script src="/dev/static/channel.js"></script>' in page
    assert "<script>" not in page  # no inline script: the CSP allows 'self' only
    assert f'data-activity-id="{thread["activity_id"]}"' in page
    for path in ("/dev/vendor/adaptivecards.min.js", "/dev/static/channel.js"):
        answer = local_host.http.get(f"{local_host.base_url}{path}", timeout=10)
        assert answer.status_code == 200, path
        assert "javascript" in answer.headers["Content-Type"]
    script = local_host.page("/dev/static/channel.js")
    assert 'name: "adaptiveCard/action"' in script and 'conversationType: "channel"' in script
