"""The reminder ladder and the digest: what is due when, from the clocks."""

from __future__ import annotations

from datetime import datetime

import pytest

from intake.clock_view import ClockState
from intake.sla import IntakeRecords, clocks
from intake.sla_ladder import (
    DigestRow,
    DigestSlot,
    LadderPolicy,
    Rung,
    card_line,
    digest_slot,
    digest_text,
    due_messages,
    next_due,
    reminder_text,
)
from tests.unit.test_sla import MORGAN, PARIS, POLICY, History, critical_example, paris

LADDER = LadderPolicy(warn_at=0.75, max_per_day=3, escalate=True)


def views(history: History, now: str, records: IntakeRecords | None = None):
    found = clocks(history.updates, records or IntakeRecords(), PARIS, POLICY, paris(now))
    return [found.sla, found.first_response]


def sla_only(history: History, now: str):
    return views(history, now)[:1]


def say(history, now, said=None, policy=LADDER, clocks_of=sla_only):
    return due_messages(7, clocks_of(history, now), said or {}, PARIS, policy, paris(now))


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-12-15 14:29", []),
        ("2026-12-15 14:30", ["sla:7:1:warn"]),  # 75 % of 1,080 business minutes
        ("2026-12-16 09:59", ["sla:7:1:warn"]),
        ("2026-12-16 10:00", ["sla:7:1:breach"]),  # the warning, unsaid, is skipped
        ("2026-12-17 09:59", ["sla:7:1:breach"]),
        ("2026-12-17 10:00", ["sla:7:1:escalate"]),  # one business day after the breach
    ],
)
def test_the_ladder_falls_due_at_its_instants(now, expected):
    assert [m.key for m in say(critical_example(), now)] == expected


def test_a_rung_already_said_is_never_said_again_and_the_next_one_is_next_due():
    said = {"sla:7:1:warn": paris("2026-12-15 14:30")}
    history = critical_example()
    assert say(history, "2026-12-15 16:00", said) == []
    assert next_due(
        7, sla_only(history, "2026-12-15 16:00"), said, PARIS, LADDER, paris("2026-12-15 16:00")
    ) == paris("2026-12-16 10:00")


def test_nothing_is_said_at_night_and_it_waits_for_the_next_opening():
    history = critical_example()
    night = "2026-12-15 20:00"
    assert say(history, night) == []
    assert next_due(7, sla_only(history, night), {}, PARIS, LADDER, paris(night)) == paris(
        "2026-12-16 09:00"
    )
    assert [m.key for m in say(history, "2026-12-16 09:00")] == ["sla:7:1:warn"]


def test_no_more_than_the_days_budget_per_request():
    said = {f"x:{i}": paris("2026-12-15 09:00") for i in range(3)}
    history = critical_example()
    assert say(history, "2026-12-15 15:00", said) == []
    assert next_due(
        7, sla_only(history, "2026-12-15 15:00"), said, PARIS, LADDER, paris("2026-12-15 15:00")
    ) == paris("2026-12-16 09:00")


def test_never_for_a_stopped_or_cancelled_clock():
    stopped = critical_example().add("2026-12-15 12:00", state="On Hold", by=MORGAN)
    assert say(stopped, "2026-12-17 12:00") == []
    assert (
        next_due(
            7, sla_only(stopped, "2026-12-17 12:00"), {}, PARIS, LADDER, paris("2026-12-17 12:00")
        )
        is None
    )
    cancelled = critical_example().add("2026-12-14 12:00", severity="Low", by=MORGAN)
    assert say(cancelled, "2026-12-17 12:00") == []


def test_a_reset_cycle_has_its_own_ladder():
    history = critical_example().add("2026-12-15 15:00", state="On Hold", by=MORGAN)
    history.add("2026-12-21 14:00", state="New", by=MORGAN)
    said = {"sla:7:1:warn": paris("2026-12-15 14:30")}
    # Cycle 2: 810 minutes from Mon 21 14:00 -> Tue 22 18:00 (240 + 540 = 780) -> Wed 09:30.
    assert [m.key for m in say(history, "2026-12-23 09:30", said)] == ["sla:7:2:warn"]


def test_the_first_response_ladder_has_its_own_keys():
    history = critical_example()
    # 8 business hours from Mon 10:00: warn at 6 h (16:00), breach at 18:00.
    keys = [m.key for m in say(history, "2026-12-14 16:00", clocks_of=views)]
    assert keys == ["fr:7:1:warn"]
    keys = [m.key for m in say(history, "2026-12-15 09:00", clocks_of=views)]
    assert keys == ["fr:7:1:breach"]
    person = critical_example().add("2026-12-14 11:00", by=MORGAN, comment="on it")
    assert say(person, "2026-12-15 09:00", clocks_of=views) == []


def test_no_escalation_rung_without_anyone_to_escalate_to():
    quiet = LadderPolicy(escalate=False)
    assert [m.key for m in say(critical_example(), "2026-12-18 10:00", policy=quiet)] == [
        "sla:7:1:breach"
    ]


def test_the_reminder_names_what_is_due_when_and_what_is_left_and_escapes_the_title():
    message = say(critical_example(), "2026-12-15 14:30")[0]
    text = reminder_text(message, 7, "**Boss** [x](http://e)", PARIS, "<at>Casey</at>")
    assert text.startswith("<at>Casey</at> **At risk**")
    assert "Wed 16 Dec 10:00 CET" in text and "4 h 30 min of business time left" in text
    assert r"\*\*Boss\*\* \[x\](http://e)" in text
    assert message.rung is Rung.WARN


def test_the_card_line_shows_the_due_date_in_the_calendars_zone():
    view = sla_only(critical_example(), "2026-12-14 11:00")[0]
    assert card_line(view, PARIS) == "SLA: due Wed 16 Dec 10:00 CET"
    met = critical_example().add("2026-12-15 12:00", state="On Hold", by=MORGAN)
    assert card_line(sla_only(met, "2026-12-16 12:00")[0], PARIS).startswith("SLA: met")


# --- the digest ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "key"),
    [
        ("2026-12-14 09:29", None),
        ("2026-12-14 09:30", "digest:2026-12-14:09:30"),
        ("2026-12-14 13:29", "digest:2026-12-14:09:30"),  # missed: still due once
        ("2026-12-14 16:00", "digest:2026-12-14:13:30"),  # a later slot replaces it
        ("2026-12-14 23:00", "digest:2026-12-14:17:00"),
        ("2026-12-19 10:00", None),  # Saturday
        ("2026-12-25 10:00", None),  # a holiday
    ],
)
def test_the_digest_slot_of_now(now, key):
    slot = digest_slot(PARIS, LADDER, paris(now))
    assert (slot.key if slot else None) == key


def test_the_digest_lists_running_requests_breached_first_then_by_due_date():
    def row(number: int, history: History, title: str) -> DigestRow:
        view = sla_only(history, "2026-12-16 11:00")[0]
        return DigestRow(number, title, "Critical", "New", view, f"https://x/{number}")

    late = critical_example()
    later = History().add("2026-12-15 10:00", state="New", severity="Critical")
    sooner = History().add("2026-12-15 09:00", state="New", severity="Critical")
    stopped = critical_example().add("2026-12-15 12:00", state="On Hold", by=MORGAN)
    rows = [row(3, later, "c"), row(2, sooner, "b_"), row(1, late, "a"), row(4, stopped, "d")]
    slot = DigestSlot("digest:2026-12-16:09:30", paris("2026-12-16 09:30"))
    text = digest_text(rows, PARIS, slot)
    lines = text.splitlines()
    assert lines[0].startswith("**SLA digest, Wed 16 Dec 09:30 CET**: 3 running")
    assert [line.split("]")[0] for line in lines[1:]] == ["- [#1", "- [#2", "- [#3"]
    assert "BREACHED" in lines[1] and "overdue by 1 h" in lines[1]
    assert r"b\_" in lines[2] and "(https://x/2)" in lines[2]
    assert all(view.state is not ClockState.MET for view in [r.clock for r in rows[:3]])
    assert isinstance(slot.at, datetime)


def test_the_triage_card_gains_one_sla_fact_in_the_calendars_zone():
    from intake.config import Settings
    from intake.models import Request
    from intake.sla_ladder import add_sla_fact
    from intake.triage_card import build_triage_card

    settings = Settings(
        calendar='{"timezone": "Europe/Paris", "holidays": ["2026-12-07"], "week": {'
        + ", ".join(f'"{d}": [["09:00", "18:00"]]' for d in ("mon", "tue", "wed", "thu", "fri"))
        + "}}"
    )
    request = Request(
        id="0123456789abcdef",
        form_id="f",
        response_id="1",
        title="t",
        severity="Critical",
        client_name="Jordan",
        client_email="jordan@fabrikam.example",
        received_at=paris("2026-12-04 16:30"),
    )
    card = build_triage_card(request, 7, "https://x/7")
    before = len(card["body"][0]["facts"]) if "facts" in card["body"][0] else None
    add_sla_fact(card, request, None, settings)
    facts = next(e for e in card["body"] if e.get("id") == "facts")["facts"]
    assert facts[-1] == {"title": "SLA", "value": "due Wed 9 Dec 16:30 CET"}
    assert before is None or len(facts) == before + 1
    low = request.model_copy(update={"severity": "Low"})
    card = build_triage_card(low, 7, "https://x/7")
    add_sla_fact(card, low, None, settings)
    assert all(
        f["title"] != "SLA"
        for f in next(e for e in card["body"] if e.get("id") == "facts")["facts"]
    )
