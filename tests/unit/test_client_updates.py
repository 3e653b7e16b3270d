"""The follow-up timer tells the client (intake/client_updates.py) over fake ports: one email
per settled state change and per #client comment, shown on the status page; faults and crashes
at the send and at the comment read lose nothing and repeat nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from intake import follow_up, status_page
from intake.errors import ExternalError
from intake.models import DiscussionComment, Identity
from tests.faults.matrix import WorkerCrash
from tests.follow_up_scene import EPOCH, FAULTS, RequestAfterIntake

MORGAN = Identity("m-1", "Morgan Scrum", "morgan@contoso.example")
DEVOPS_HOST = "dev.azure.com"


class Scene(RequestAfterIntake):
    def person_comments(self, comment_id: int, html: str) -> None:
        comments = self.world.work_items.person_comments.setdefault(1, [])
        comments.append(DiscussionComment(comment_id, html, MORGAN, self.now))
        self._revise({"System.CommentCount": {"oldValue": 0, "newValue": len(comments)}})

    def after(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)

    def timer(self) -> follow_up.FollowUpRun:
        return follow_up.run_follow_up(self.services)

    def news(self) -> list[Any]:
        return self.to_client()[self.sent_by_intake :]

    def page(self) -> list[tuple[str, str]]:
        record = self.services.store.get_request(self.request_id)
        view = status_page.view_of(record, self.services)
        return [(str(entry.kind), entry.text) for entry in view.timeline]


@pytest.fixture
def scene(world):
    return Scene(world)


def test_intake_own_planning_move_is_not_told_twice(scene):
    scene.after(10)
    scene.timer()
    assert scene.news() == []
    assert [e.subject for e in scene.to_client()] == [
        "We received your request #1: Reports page is blank [#1]",
        "Your request is being triaged [#1]",
    ]


def test_a_person_s_state_change_is_one_email_with_its_label_after_the_window(scene):
    scene.after(1)
    scene.person_moves("On Hold")
    scene.after(1)
    scene.timer()  # younger than the 5-minute window: it may still merge
    assert scene.news() == []
    assert 1 in scene.follow_ups.changed()  # looked at again next run

    scene.after(5)
    scene.timer()
    (email,) = scene.news()
    assert email.subject == "Your request is now: Waiting for information [#1]"
    assert "Waiting for information" in email.html and "/api/status/" in email.text
    assert DEVOPS_HOST not in email.html + email.text
    assert email.key.endswith("-notify:1:3")

    scene.after(5)
    scene.timer()
    scene.timer()
    assert len(scene.news()) == 1
    assert ("state", "Status: Waiting for information") in scene.page()
    assert ("email", "Email: Your request is now: Waiting for information [#1]") in scene.page()


def test_changes_within_the_window_are_one_email_and_a_return_is_none(scene):
    scene.after(1)
    scene.person_moves("Active")
    scene.after(3)
    scene.person_moves("On Hold")
    scene.after(10)
    scene.timer()
    assert [e.subject for e in scene.news()] == [
        "Your request is now: Waiting for information [#1]"
    ]

    scene.after(60)
    scene.person_moves("Active")
    scene.after(2)
    scene.person_moves("On Hold")
    scene.after(10)
    scene.timer()
    assert len(scene.news()) == 1  # it ended where it started


def test_a_client_comment_is_emailed_once_and_shown_and_an_internal_one_is_not(scene):
    scene.after(1)
    scene.person_comments(1001, "<p>internal: their proxy again</p>")
    scene.person_comments(
        1002,
        '<div>#client <a href="#" data-vss-mention="version:2.0,x">@Pat Newcomer</a> '
        'fixed, see <a href="https://dev.azure.com/contoso/Intake/_workitems/edit/1">#1</a>'
        "</div>",
    )
    scene.timer()
    (email,) = scene.news()
    assert email.subject == "A message about your request [#1]"
    assert "Pat Newcomer fixed, see #1" in email.text
    assert DEVOPS_HOST not in email.html + email.text
    assert "internal" not in email.html + email.text
    assert email.key.endswith("-client-comment:1:1002")
    assert ("comment", "Message from our team:\nPat Newcomer fixed, see #1") in scene.page()
    assert not any("proxy" in text for _, text in scene.page())

    reads = scene.world.faults.calls["discussion"]
    scene.after(5)
    scene.timer()
    assert len(scene.news()) == 1
    assert scene.world.faults.calls["discussion"] == reads  # nothing new: not read again


def test_intake_own_client_comment_is_not_emailed_again(scene):
    from intake.models import Comment

    scene.world.work_items.add_comment(1, Comment(key="ask", html="#client Which browser?"))
    scene._revise({"System.CommentCount": {"oldValue": 0, "newValue": 1}})
    scene.timer()
    assert scene.news() == []


def test_a_leased_request_is_told_on_a_later_run(scene):
    scene.after(1)
    scene.person_comments(1001, "#client on it")
    assert scene.world.store.acquire_lease(scene.request_id, "steps-worker", 60)
    scene.timer()
    assert scene.news() == []
    scene.world.store.release_lease(scene.request_id, "steps-worker")
    scene.after(5)
    scene.timer()
    assert len(scene.news()) == 1


# A read (Sent Items, the history) has no effect to fail after: only the faults before it.
CASES = [
    (operation, kind)
    for operation in ("send", "discussion", "find_sent", "updates")
    for kind in sorted(FAULTS)
    if operation in ("send", "discussion") or not FAULTS[kind][1]
]


@pytest.mark.parametrize(("operation", "kind"), CASES)
def test_faults_at_the_notify_send_and_the_comment_read_lose_and_repeat_nothing(
    world, operation, kind
):
    scene = Scene(world)
    scene.after(1)
    scene.person_moves("On Hold")
    scene.person_comments(1001, "#client on it")
    scene.after(6)
    make, after = FAULTS[kind]
    world.faults.add(operation, make(), after=after)
    world.mailer.sent_items_lag = 0.0
    for _ in range(6):  # the timer every 5 minutes; a crashed run's lease expires meanwhile
        try:
            scene.timer()
        except (WorkerCrash, ExternalError):
            pass  # the run fails; the next one sweeps from the old watermark
        scene.after(5)
    assert world.faults.injected == 1
    subjects = sorted(e.subject for e in scene.news())
    assert subjects == [
        "A message about your request [#1]",
        "Your request is now: Waiting for information [#1]",
    ], (operation, kind, world.faults.injected)
    record = world.store.get_request(scene.request_id)
    assert {"notify:1:3", "client-comment:1:1001"} <= set(record.steps)


def test_the_page_shows_the_sla_due_date_only_when_asked(world, settings):
    scene = Scene(world)
    record = scene.services.store.get_request(scene.request_id)
    due = (EPOCH + timedelta(days=2)).isoformat()
    item = scene.follow_ups.item(1)
    assert item is None
    scene.timer()
    item = scene.follow_ups.item(1)
    from dataclasses import replace

    # What the SLA follow-up keeps of the clock (intake/sla_follow_up.py: clock_json).
    scene.follow_ups.save_item(
        replace(item, summary={"sla": {"state": "running", "dueAt": due, "cycle": 1}})
    )
    assert status_page.view_of(record, scene.services).due_at is None
    world.settings = settings.model_copy(update={"show_sla_to_client": True})
    view = status_page.view_of(record, scene.services)
    assert view.due_at == EPOCH + timedelta(days=2)
    html = status_page.answer(
        status_page.status_link(record, scene.services).rsplit("/", 1)[1], scene.services
    ).html
    assert "Answer due" in html
    # Once the clock stopped (met, breached, cancelled), the page shows no date.
    scene.follow_ups.save_item(replace(item, summary={"sla": {"state": "met", "dueAt": due}}))
    assert status_page.view_of(record, scene.services).due_at is None
