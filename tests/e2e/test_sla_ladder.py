"""The SLA clock over HTTP with the frozen clock: a submission, then the clock steps through
the first response's and the triage SLA's warnings, breaches and escalation; a reset cycle's
own ladder; the digest three times on a business day and never on a holiday."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import SAMPLE
from tests.e2e.client import LocalHostClient

pytestmark = pytest.mark.e2e

CALENDAR = json.dumps(
    {
        "timezone": "Europe/Paris",
        "week": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": ["2026-12-25", "2027-01-01"],
    }
)
SETTINGS = {
    "calendar": CALENDAR,
    "escalation_emails": ["boss@contoso.example"],
    "sla_due_field": "Custom.SLADue",
}


def replies(client: LocalHostClient) -> list[dict[str, Any]]:
    return [reply for thread in client.threads() for reply in thread["replies"]]


def reminder_keys(client: LocalHostClient) -> list[str]:
    return [r["key"] for r in replies(client)]


def escalations(client: LocalHostClient) -> list[dict[str, Any]]:
    return [m for m in client.outbox() if m["subject"].startswith("Escalation")]


def person_acts(client: LocalHostClient, work_item_id: int, **change: Any) -> None:
    if "text" in change:
        url = f"{client.base_url}/dev/api/workitems/{work_item_id}/comments"
        answer = client.http.post(url, json={"by": "morgan@contoso.example", **change}, timeout=10)
    else:
        url = f"{client.base_url}/dev/api/workitems/{work_item_id}"
        answer = client.http.patch(url, json={"by": "morgan@contoso.example", **change}, timeout=10)
    assert answer.status_code in (200, 201), answer.text


def card_sla(client: LocalHostClient) -> str:
    (thread,) = client.threads()
    facts = next(e for e in thread["card"]["body"] if e.get("id") == "facts")["facts"]
    return str(next(f["value"] for f in facts if f["title"] == "SLA"))


def submitted(client: LocalHostClient, at: str) -> tuple[str, int]:
    client.set_clock(at)
    receipt = client.submit(SAMPLE).json()
    client.wait_until_done(receipt["requestId"])
    return receipt["requestId"], client.status(receipt["requestId"])["workItemId"]


def test_the_ladders_say_each_rung_once_at_its_instant_and_never_at_night(tmp_path):
    with LocalHostClient.started(tmp_path / "host", **SETTINGS) as client:
        # A High request (3 business days) created Mon 14 Dec 10:00 Paris.
        request_id, item = submitted(client, "2026-12-14T09:00:00Z")
        status = client.status(request_id)
        assert status["sla"] == {
            "state": "running",
            "dueAt": "2026-12-17T09:00:00Z",  # Thu 10:00 Paris
            "cycle": 1,
            "breachedAt": None,
            "target": "3 business days",
        }
        assert status["firstResponse"]["dueAt"] == "2026-12-14T17:00:00Z"  # Mon 18:00 Paris
        assert card_sla(client) == "due Thu 17 Dec 10:00 CET"  # the calendar's zone

        def step(now: str) -> list[str]:
            before = reminder_keys(client)
            client.set_clock(now)
            return reminder_keys(client)[len(before) :]

        fr, sla = f"fr:{item}:1", f"sla:{item}:1"
        assert step("2026-12-14T14:55:00Z") == []
        # The due date is written to the work item's field, once.
        assert client.work_item(item)["fields"]["Custom.SLADue"] == "2026-12-17T09:00:00+00:00"
        rev = client.work_item(item)["rev"]
        assert step("2026-12-14T15:00:00Z") == [f"{fr}:warn"]  # 6 of 8 business hours
        assert client.work_item(item)["rev"] == rev  # unchanged: not written again
        # Due on the closing edge (18:00 Paris): held through the night.
        assert step("2026-12-14T17:00:00Z") == []
        assert step("2026-12-14T23:00:00Z") == []
        assert step("2026-12-15T08:00:00Z") == [f"{fr}:breach"]  # Tue 09:00: the opening
        person_acts(client, item, text="Looking into it")  # the first response, late
        assert step("2026-12-16T11:10:00Z") == []
        assert step("2026-12-16T11:15:00Z") == [f"{sla}:warn"]  # Wed 12:15 Paris: 75 %
        client.run_follow_up()  # a second run at the same instant adds nothing
        assert step("2026-12-16T11:20:00Z") == []
        assert step("2026-12-17T08:55:00Z") == []
        assert step("2026-12-17T09:00:00Z") == [f"{sla}:breach"]
        assert card_sla(client) == "breached (due Thu 17 Dec 10:00 CET)"  # published again
        assert escalations(client) == []
        assert step("2026-12-18T08:55:00Z") == []
        assert escalations(client) == []
        client.set_clock("2026-12-18T09:00:00Z")  # one business day after the breach
        mails = escalations(client)
        assert len(mails) == 1 and mails[0]["to"] == ["boss@contoso.example"]
        assert mails[0]["sent_at"].startswith("2026-12-18T09:00:00")
        client.run_follow_up()
        assert len(escalations(client)) == 1

        said = {r["key"]: r for r in replies(client)}
        assert said[f"{sla}:warn"]["posted_at"].startswith("2026-12-16T11:15:00")
        assert [m["name"] for m in said[f"{sla}:warn"]["mentions"]] == ["Casey Coordinator"]
        breach = said[f"{sla}:breach"]
        assert {m["name"] for m in breach["mentions"]} == {"Casey Coordinator", "Morgan Scrum"}
        assert all(m["teams_id"].startswith("29:") for m in breach["mentions"])
        assert "<at>Casey Coordinator</at>" in breach["text"] and "Breached" in breach["text"]
        assert client.status(request_id)["sla"]["state"] == "breached"

        # Set back to New: cycle 2, the full 3 business days from Fri 11:00 Paris, its own
        # ladder (warning at 75 %: Tue 22 13:15 Paris).
        client.set_clock("2026-12-18T09:30:00Z")
        person_acts(client, item, state="On Hold")
        client.set_clock("2026-12-18T10:00:00Z")
        person_acts(client, item, state="New")
        assert step("2026-12-18T10:05:00Z") == []
        cycle_two = client.status(request_id)["sla"]
        assert cycle_two["cycle"] == 2 and cycle_two["dueAt"] == "2026-12-23T10:00:00Z"
        assert client.work_item(item)["fields"]["Custom.SLADue"] == "2026-12-23T10:00:00+00:00"
        assert card_sla(client) == "due Wed 23 Dec 11:00 CET"
        assert step("2026-12-22T12:10:00Z") == []
        assert step("2026-12-22T12:15:00Z") == [f"sla:{item}:2:warn"]
        assert len(reminder_keys(client)) == len(set(reminder_keys(client))) == 5


def test_the_digest_three_times_on_a_business_day_and_never_on_a_holiday(tmp_path):
    with LocalHostClient.started(tmp_path / "host", **SETTINGS) as client:
        _, item = submitted(client, "2026-12-22T08:00:00Z")  # Tue 22 Dec 09:00 Paris

        def digests() -> list[dict[str, Any]]:
            posts = client.get("/dev/api/channel/posts")
            return [p for p in posts if p["key"].startswith("digest:")]

        for now in ("2026-12-22T08:25:00Z", "2026-12-22T08:30:00Z", "2026-12-22T08:35:00Z"):
            client.set_clock(now)
        assert [d["key"] for d in digests()] == ["digest:2026-12-22:09:30"]
        for now in ("2026-12-22T12:30:00Z", "2026-12-22T16:00:00Z", "2026-12-22T16:05:00Z"):
            client.set_clock(now)
        client.run_follow_up()
        assert [d["key"] for d in digests()] == [
            "digest:2026-12-22:09:30",
            "digest:2026-12-22:13:30",
            "digest:2026-12-22:17:00",
        ]
        text = digests()[0]["text"]
        assert f"[#{item}](" in text and "Invoices page times out for EU customers" in text
        assert "High" in text and "In Planning" in text

        # Wed 23: the 09:30 slot is missed (the timer first runs at 14:00): one late digest,
        # the 13:30 one, which replaces the missed 09:30.
        client.set_clock("2026-12-23T13:00:00Z")
        client.set_clock("2026-12-23T13:05:00Z")
        assert [d["key"] for d in digests()][3:] == ["digest:2026-12-23:13:30"]

        # Christmas (a holiday) and the weekend: none.
        for now in ("2026-12-25T08:30:00Z", "2026-12-25T12:30:00Z", "2026-12-26T08:30:00Z"):
            client.set_clock(now)
        assert len(digests()) == 4
