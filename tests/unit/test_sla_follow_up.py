"""Saying a rung once: the intent claimed before, ``#done`` after, and what a crash between
the two leaves for the next run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from intake.adapters.local_follow_ups import SqliteFollowUps
from intake.adapters.sqlite_db import Database
from intake.sla_follow_up import INTENT_GRACE, say_once

NOW = datetime(2026, 12, 16, 11, 15, tzinfo=UTC)


def follow_ups(tmp_path) -> SqliteFollowUps:
    return SqliteFollowUps(Database(tmp_path / "intake.db"), clock=lambda: NOW)


def test_said_once_then_never_again(tmp_path):
    store, sent = follow_ups(tmp_path), []
    assert say_once(store, "sla:7:1:warn", lambda: sent.append(1) or "a1", NOW)
    assert say_once(store, "sla:7:1:warn", lambda: sent.append(2) or "a2", NOW)
    assert sent == [1]
    assert store.effect("sla:7:1:warn#done") == {"id": "a1", "at": NOW.isoformat()}


def test_an_intent_another_run_is_saying_is_left_to_it(tmp_path):
    store, sent = follow_ups(tmp_path), []
    store.claim_effect("sla:7:1:warn", {"intent": NOW.isoformat(), "run": "other"})
    later = NOW + INTENT_GRACE - timedelta(seconds=1)
    assert not say_once(store, "sla:7:1:warn", lambda: sent.append(1) or "x", later)
    assert sent == [] and store.effect("sla:7:1:warn#done") is None


def test_a_run_that_died_after_sending_and_before_recording_is_finished_by_the_next(tmp_path):
    # The dead run claimed the intent and (maybe) sent; ``#done`` was never written. The next
    # run past the grace sends again with the same key (the channel and the mailer say
    # nothing twice where they can tell) and records it.
    store, sent = follow_ups(tmp_path), []
    store.claim_effect("sla:7:1:warn", {"intent": NOW.isoformat(), "run": "dead"})
    later = NOW + INTENT_GRACE
    assert say_once(store, "sla:7:1:warn", lambda: sent.append(1) or "again", later)
    assert sent == [1] and store.effect("sla:7:1:warn#done")["id"] == "again"
