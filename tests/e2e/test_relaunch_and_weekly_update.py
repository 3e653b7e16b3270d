"""On Hold relaunches and weekly updates over HTTP with the frozen clock: a person puts the
request On Hold on the board; 21 days later (Europe/Paris: the issue's example a week later)
the client gets a #client comment and an email, the coordinator a note in the triage thread,
exactly once, and again 21 days later; back in progress, a week of silence brings one short
update; none while On Hold or waiting on the client."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.conftest import sample_submission
from tests.e2e.client import LocalHostClient

pytestmark = pytest.mark.e2e

CLIENT = "pat.newcomer@fabrikam.example"
CALENDAR = json.dumps(
    {
        "timezone": "Europe/Paris",
        "week": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": ["2026-12-25", "2027-01-01"],
    }
)
OURS = re.compile(r"^(relaunch|weekly):")


def notes(client: LocalHostClient) -> list[dict[str, Any]]:
    replies = [reply for thread in client.threads() for reply in thread["replies"]]
    return [reply for reply in replies if OURS.match(reply["key"])]


def to_client(client: LocalHostClient) -> list[dict[str, Any]]:
    return [m for m in client.outbox() if m["to"] == [CLIENT]]


def subjects(client: LocalHostClient, start: str) -> list[str]:
    return [m["subject"] for m in to_client(client) if m["subject"].startswith(start)]


def client_comments(client: LocalHostClient, work_item_id: int) -> list[dict[str, Any]]:
    comments = client.work_item(work_item_id)["comments"]
    return [c for c in comments if "#client" in json.dumps(c)]


def test_on_hold_is_relaunched_every_21_days_and_silence_brings_a_weekly_update(tmp_path):
    with LocalHostClient.started(tmp_path / "host", calendar=CALENDAR) as client:
        client.set_clock("2026-12-09T08:00:00Z")  # Wed 09:00 Paris
        receipt = client.submit(sample_submission(client_email=CLIENT, title="Blank")).json()
        client.wait_until_done(receipt["requestId"])
        item = int(client.status(receipt["requestId"])["workItemId"])
        client.set_clock("2026-12-09T09:00:00Z")  # Wed 10:00 Paris
        client.person_moves(item, "On Hold")
        client.set_clock("2026-12-09T09:10:00Z")
        assert subjects(client, "Your request is now") == [
            f"Your request is now: Waiting for information [#{item}]"
        ]

        # No weekly update while On Hold; the relaunch on Wed 30 Dec 10:00 CET, not before.
        for now in ("2026-12-16T09:10:00Z", "2026-12-23T09:10:00Z", "2026-12-30T08:59:00Z"):
            client.set_clock(now)
        assert notes(client) == [] and subjects(client, "No news") == []
        client.set_clock("2026-12-30T09:00:00Z")
        (note,) = notes(client)
        assert re.fullmatch(rf"relaunch:{item}:\d+:1:note", note["key"])
        assert note["posted_at"].startswith("2026-12-30T09:00:00")
        assert [m["name"] for m in note["mentions"]] == ["Casey Coordinator"]
        assert "relaunch 1 of 3" in note["text"]
        (email,) = [m for m in to_client(client) if m["subject"].startswith("We are waiting")]
        assert email["subject"] == f"We are waiting for your information [#{item}]"
        assert "on hold since Wednesday 9 December 2026" in email["text"]
        assert "/api/status/" in email["text"]
        assert len(client_comments(client, item)) == 1
        client.run_follow_up()  # a second run at the same instant adds nothing
        client.set_clock("2026-12-30T09:05:00Z")
        assert len(notes(client)) == 1 and len(subjects(client, "We are waiting")) == 1
        assert len(client_comments(client, item)) == 1
        assert subjects(client, "A message about") == []  # Intake's own #client comment

        # The next one 21 days later: Wed 20 Jan 10:00 CET.
        client.set_clock("2027-01-20T08:59:00Z")
        assert len(notes(client)) == 1
        client.set_clock("2027-01-20T09:00:00Z")
        assert [n["key"].rsplit(":", 2)[-2] for n in notes(client)] == ["1", "2"]
        assert len(subjects(client, "We are waiting")) == 2

        # Back in progress: the state email is the last message; a week of silence after it,
        # one short update (Wed 27 Jan 10:40 CET), once.
        client.person_moves(item, "Active")
        client.set_clock("2027-01-20T09:40:00Z")
        assert subjects(client, "Your request is now")[-1].endswith("In progress [#" + f"{item}]")
        client.set_clock("2027-01-27T09:39:00Z")
        assert subjects(client, "No news") == []
        client.set_clock("2027-01-27T09:40:00Z")
        update_subject = f"No news yet on your request: In progress [#{item}]"
        assert subjects(client, "No news") == [update_subject]
        (update,) = [m for m in to_client(client) if m["subject"].startswith("No news")]
        assert f"#{item}" in update["text"] and "nothing new to report yet" in update["text"]
        client.run_follow_up()
        assert len(subjects(client, "No news")) == 1
        page = client.http.get(re.findall(r"https?://\S+/api/status/\S+", update["text"])[0])
        assert "No news yet on your request" in page.text

        # Waiting on the client: no update however long the silence.
        client.person_moves(item, "Waiting on Client")
        for now in ("2027-02-03T09:40:00Z", "2027-02-10T09:40:00Z", "2027-02-17T09:40:00Z"):
            client.set_clock(now)
        assert len(subjects(client, "No news")) == 1
        assert len(notes(client)) == 2
