"""The local channel's replies and posts: once per effect key, in the card's thread, kept."""

from __future__ import annotations

import pytest

from intake.adapters.local_channel import SqliteChannel
from intake.adapters.sqlite_db import Database
from intake.errors import ExternalRejected
from intake.models import Mention, Thread


@pytest.fixture
def channel(tmp_path):
    return SqliteChannel(Database(tmp_path / "intake.db"))


def test_a_reply_lands_in_the_cards_thread_once_per_key(channel, tmp_path):
    thread = channel.post_card({"type": "AdaptiveCard"}, key="card:r1")
    people = [Mention("Casey Coordinator", "29:casey")]
    first = channel.reply(
        thread, "<at>Casey Coordinator</at> due soon", key="sla:1:1:warn", mentions=people
    )
    again = channel.reply(
        thread, "<at>Casey Coordinator</at> due soon", key="sla:1:1:warn", mentions=people
    )
    assert again == first
    # A second adapter over the same file sees the same reply (it is stored, not remembered).
    posts = SqliteChannel(Database(tmp_path / "intake.db")).posts()
    assert len(posts) == 1
    assert posts[0]["reply_to"] == thread.activity_id
    assert posts[0]["conversation_id"] == thread.conversation_id
    assert posts[0]["mentions"] == [{"name": "Casey Coordinator", "teams_id": "29:casey"}]


def test_a_post_is_a_new_thread_of_its_own(channel):
    card = channel.post_card({"type": "AdaptiveCard"}, key="card:r1")
    digest = channel.post("3 requests running", key="digest:2026-12-04:09:30")
    assert digest.activity_id != card.activity_id
    assert digest.conversation_id.endswith(f";messageid={digest.activity_id}")
    assert channel.post("3 requests running", key="digest:2026-12-04:09:30") == digest
    assert [p["reply_to"] for p in channel.posts()] == [None]


def test_a_reply_to_an_unknown_thread_is_refused(channel):
    with pytest.raises(ExternalRejected):
        channel.reply(Thread("19:x;messageid=1", "1"), "hello", key="k")
    assert channel.posts() == []
