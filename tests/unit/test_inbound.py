"""The inbound use case on fakes: what each kind of message becomes, and once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from intake import inbound
from intake.client_status import EntryKind, client_view
from intake.errors import ExternalRejected
from intake.inbound_mail import InboundAttachment, InboundMessage
from intake.models import Step
from tests.fakes import FakeWorld
from tests.inbound_fakes import inbound_services

CLIENT = "jordan.rivera@fabrikam.example"
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@pytest.fixture
def setup(world: FakeWorld, request_id: str) -> Any:
    world.clock = lambda: NOW
    services, mailbox, follow_ups = inbound_services(world)
    record = world.store.get_request(request_id)
    confirmation = record.result(Step.EMAIL_CLIENT)["message_id"]
    return services, mailbox, follow_ups, record, confirmation


def reply(number: int = 1, **fields: Any) -> InboundMessage:
    values: dict[str, Any] = {
        "internet_message_id": f"<reply-{number}@fabrikam.example>",
        "sender": CLIENT,
        "subject": "RE: We received your request #1 [#1]",
        "text": "Still failing.\n\nOn Mon, Intake <intake@contoso.example> wrote:\n> old",
    }
    values.update(fields)
    return InboundMessage(**values)


def reply_comments(world: FakeWorld) -> list[Any]:
    return [c for c in world.work_items.comments.get(1, []) if c.key.startswith("reply:")]


def notes(world: FakeWorld) -> list[dict[str, Any]]:
    return [p for p in world.channel.posts if p["key"].endswith(":note")]


def test_a_reply_to_our_email_becomes_a_comment_a_note_and_a_page_entry(world, setup):
    services, mailbox, follow_ups, record, confirmation = setup
    mailbox.arrive(reply(in_reply_to=confirmation))

    run = inbound.read_replies(services)

    assert run.replies == ["<reply-1@fabrikam.example>"]
    (comment,) = reply_comments(world)
    assert comment.key == "reply:<reply-1@fabrikam.example>"
    assert "Reply from Jordan Rivera by email:" in comment.html
    assert "Still failing." in comment.html and "old" not in comment.html
    (note,) = notes(world)
    assert note["reply_to"] == record.result(Step.POST_TRIAGE_CARD)["activity_id"]
    view = client_view(world.store.get_request(record.request.id), "In Planning", world.settings)
    assert [e.text for e in view.timeline if e.kind == EntryKind.REPLY] == [
        "Your reply: Still failing."
    ]
    assert follow_ups.cursors["inbox"] == "1"
    assert "reply:<reply-1@fabrikam.example>" in follow_ups.effects


def test_the_same_message_read_twice_is_handled_once(world, setup):
    services, mailbox, follow_ups, _, confirmation = setup
    mailbox.arrive(reply(in_reply_to=confirmation))
    inbound.read_replies(services)
    mailbox.arrive(reply(in_reply_to=confirmation))  # delivered again, same Message-ID
    follow_ups.cursors.clear()  # and the whole Inbox read again
    inbound.read_replies(services)

    assert len(reply_comments(world)) == 1
    assert len(notes(world)) == 1


def test_the_client_s_reply_matches_by_subject_tag_without_references(world, setup):
    services, mailbox, _, _, _ = setup
    mailbox.arrive(reply(sender=CLIENT.upper()))
    assert inbound.read_replies(services).replies == ["<reply-1@fabrikam.example>"]
    assert len(reply_comments(world)) == 1


def test_a_stranger_is_forwarded_to_the_coordinator_and_writes_nothing(world, setup):
    services, mailbox, _, record, confirmation = setup
    sent_before = len(world.mailer.sent)
    mailbox.arrive(reply(sender="colleague@fabrikam.example", in_reply_to=confirmation))
    mailbox.arrive(reply(2, sender="someone@else.example", subject="Hello"))

    run = inbound.read_replies(services)

    assert run.forwarded == ["<reply-1@fabrikam.example>", "<reply-2@fabrikam.example>"]
    forwards = world.mailer.sent[sent_before:]
    assert [e.to for e in forwards] == [("casey@contoso.example",)] * 2
    assert "colleague@fabrikam.example" in forwards[0].text
    assert reply_comments(world) == [] and notes(world) == []
    steps = world.store.get_request(record.request.id).steps
    assert not [name for name in steps if name.startswith("reply:")]


def test_an_automatic_reply_is_on_the_page_only(world, setup):
    services, mailbox, _, record, confirmation = setup
    sent_before = len(world.mailer.sent)
    mailbox.arrive(
        reply(
            in_reply_to=confirmation,
            subject="Automatic reply: We received your request [#1]",
            headers=(("auto-submitted", "auto-replied"),),
        )
    )
    mailbox.arrive(reply(2, sender="nobody@x.example", headers=(("precedence", "bulk"),)))

    run = inbound.read_replies(services)

    assert run.automatic == ["<reply-1@fabrikam.example>"]
    assert run.ignored == ["<reply-2@fabrikam.example>"]  # never forwarded (RFC 3834)
    assert reply_comments(world) == [] and notes(world) == []
    assert len(world.mailer.sent) == sent_before
    view = client_view(world.store.get_request(record.request.id), "In Planning", world.settings)
    (entry,) = [e for e in view.timeline if e.kind == EntryKind.REPLY]
    assert entry.text.startswith("An automatic reply")


def closed(world: FakeWorld, at: datetime) -> None:
    world.work_items.items[1]["state"] = "Closed"
    world.work_items.history[1] = [
        {"rev": 1, "fields": {"System.State": {"newValue": "New"}}},
        {
            "rev": 5,
            "fields": {
                "System.State": {"oldValue": "In Planning", "newValue": "Closed"},
                "System.ChangedDate": {"newValue": at.isoformat().replace("+00:00", "Z")},
            },
        },
    ]


def test_a_reply_within_the_reopen_days_reopens_the_request(world, setup):
    services, mailbox, _, _, confirmation = setup
    closed(world, NOW - timedelta(days=9, hours=23))
    mailbox.arrive(reply(in_reply_to=confirmation))

    inbound.read_replies(services)

    assert world.work_items.items[1]["state"] == "In Planning"
    assert len(reply_comments(world)) == 1
    assert "back in In Planning" in notes(world)[0]["text"]


def test_a_later_reply_becomes_a_new_request_of_the_same_client(world, setup):
    services, mailbox, _, record, confirmation = setup
    closed(world, NOW - timedelta(days=10, minutes=1))
    mailbox.arrive(reply(in_reply_to=confirmation))

    inbound.read_replies(services)
    inbound.read_replies(services)

    assert world.work_items.items[1]["state"] == "Closed"
    new = [r for r in world.store.records.values() if r.request.form_id == "email-reply"]
    assert len(new) == 1
    assert new[0].request.client_email == CLIENT
    assert new[0].request.title.endswith("(follows #1)")
    assert "Still failing." in new[0].request.description
    assert new[0].status == "done" and new[0].work_item_id == 2
    assert world.work_items.links == [(2, 1, "System.LinkTypes.Related")]
    told = [e for e in world.mailer.sent if e.to == (CLIENT,) and e.work_item_id == 2]
    assert told[0].subject.startswith("We received your request #2")
    (comment,) = reply_comments(world)
    assert "became a new request, #2" in comment.html


def test_attachments_within_the_limit_are_attached_and_the_others_named(world, setup):
    services, mailbox, _, _, confirmation = setup
    small = InboundAttachment("log.txt", "text/plain", 3, b"abc")
    big = InboundAttachment("dump.bin", "application/octet-stream", 11 * 2**20, b"x")
    mailbox.arrive(reply(in_reply_to=confirmation), (small, big))

    inbound.read_replies(services)
    inbound.read_replies(services)

    assert list(world.work_items.attachments[1].values()) == [small]
    (comment,) = reply_comments(world)
    assert "log.txt" in comment.html and "dump.bin (too large to copy" in comment.html


def test_nothing_is_read_without_a_mailbox_or_when_switched_off(world, request_id):
    assert inbound.read_replies(world.services).read == 0
    services, mailbox, _ = inbound_services(world)
    mailbox.arrive(reply())
    services.settings = services.settings.model_copy(update={"read_inbox": False})
    assert inbound.read_replies(services).read == 0


def test_the_forward_carries_the_whole_message_and_answers_go_to_its_writer(world, setup):
    services, mailbox, _, _, _ = setup
    sent_before = len(world.mailer.sent)
    mailbox.arrive(reply(sender="someone@else.example", subject="Question"))
    mailbox.arrive(reply(2, sender="CASEY@contoso.example", subject="RE: Unmatched reply"))

    run = inbound.read_replies(services)

    (forward,) = world.mailer.sent[sent_before:]
    assert forward.reply_to == ("someone@else.example",)
    assert "> old" in forward.text  # the history too: the coordinator needs the context
    assert run.ignored == ["<reply-2@fabrikam.example>"]  # the coordinator's own answer


def test_a_message_refused_run_after_run_goes_to_the_coordinator_and_the_inbox_moves_on(
    world, setup
):
    services, mailbox, follow_ups, _, confirmation = setup
    world.faults.add(
        "add_comment", ExternalRejected("locked", remote_status=400), times=inbound.MESSAGE_TRIES
    )
    mailbox.arrive(reply(in_reply_to=confirmation))
    mailbox.arrive(reply(2, in_reply_to=confirmation, text="Second one."))
    sent_before = len(world.mailer.sent)

    runs = [inbound.read_replies(services) for _ in range(inbound.MESSAGE_TRIES)]

    assert [bool(r.error) for r in runs] == [True] * (inbound.MESSAGE_TRIES - 1) + [False]
    assert runs[-1].forwarded == ["<reply-1@fabrikam.example>"]
    assert runs[-1].replies == ["<reply-2@fabrikam.example>"]
    (forward,) = world.mailer.sent[sent_before:]
    assert forward.subject.startswith("Unfiled reply: ") and "could not be filed" in forward.text
    assert [c.key for c in reply_comments(world)] == ["reply:<reply-2@fabrikam.example>"]
    assert follow_ups.cursors["inbox"] == "2"
