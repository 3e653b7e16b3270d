"""The rules of what the client is told (intake/client_notify.py): pure, table-tested."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from intake import client_notify
from intake.client_notify import NotifyPolicy
from intake.config import Settings
from intake.models import DiscussionComment, Identity, Request, RequestRecord

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
T0 = NOW - timedelta(hours=2)  # the request arrives; Intake moves it to In Planning
ITEM = 7
INTAKE = {"uniqueName": "intake@contoso.example"}
MORGAN = {"uniqueName": "morgan@contoso.example"}


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def revision(rev: int, at: datetime, state: tuple[str, str] | None = None, **more: Any) -> dict:
    fields: dict[str, Any] = {"System.ChangedDate": {"newValue": stamp(at)}, **more}
    if state is not None:
        fields["System.State"] = {"oldValue": state[0], "newValue": state[1]}
    return {"rev": rev, "revisedBy": MORGAN, "fields": fields}


def created() -> list[dict]:
    """Rev 1 creates the work item in New; rev 2 is Intake's move to In Planning."""
    first = revision(1, T0)
    first["fields"]["System.State"] = {"newValue": "New"}
    return [first, revision(2, T0, ("New", "In Planning"))]


def record(**steps: dict[str, Any]) -> RequestRecord:
    request = Request(
        id="a1b2c3d4e5f60718",
        form_id="f",
        response_id="r",
        title="Reports page is blank",
        client_name="Pat",
        client_email="pat@fabrikam.example",
        received_at=T0,
    )
    base = {
        "create_work_item": {"work_item_id": ITEM, "url": "u"},
        "move_to_planning": {"state": "In Planning", "at": T0.isoformat()},
        "tell_client_planning": {"via": "email"},
    }
    return RequestRecord(request=request, steps={**base, **steps})


def policy(**settings: Any) -> NotifyPolicy:
    return NotifyPolicy.from_settings(Settings(**settings))


def minutes_ago(n: float) -> datetime:
    return NOW - timedelta(minutes=n)


# (name, later revisions after the two of the intake, extra recorded steps, settings,
#  expected (rev, label) or None, expected settling)
STATE_CASES: list[tuple[str, list[dict], dict, dict, tuple[int, str] | None, bool]] = [
    ("intake's own planning move is told in its own words", [], {}, {}, None, False),
    (
        "a person puts it on hold",
        [revision(3, minutes_ago(10), ("In Planning", "On Hold"))],
        {},
        {},
        (3, "Waiting for information"),
        False,
    ),
    (
        "a change younger than the window waits",
        [revision(3, minutes_ago(2), ("In Planning", "On Hold"))],
        {},
        {},
        None,
        True,
    ),
    (
        "two changes within the window are one email, the last state wins",
        [
            revision(3, minutes_ago(9), ("In Planning", "Active")),
            revision(4, minutes_ago(6), ("Active", "On Hold")),
        ],
        {},
        {},
        (4, "Waiting for information"),
        False,
    ),
    (
        "back where it started: nothing",
        [
            revision(3, minutes_ago(9), ("In Planning", "On Hold")),
            revision(4, minutes_ago(7), ("On Hold", "In Planning")),
        ],
        {},
        {},
        None,
        False,
    ),
    (
        "a silent pair is never told",
        [revision(3, minutes_ago(10), ("In Planning", "On Hold"))],
        {},
        {"client_silent_transitions": [["in planning", "On Hold"]]},
        None,
        False,
    ),
    (
        "a wildcard silent pair",
        [revision(3, minutes_ago(10), ("In Planning", "Resolved"))],
        {},
        {"client_silent_transitions": [["*", "Resolved"]]},
        None,
        False,
    ),
    (
        "a change already told is not told again",
        [revision(3, minutes_ago(10), ("In Planning", "On Hold"))],
        {"notify:7:3": {"notified": {}}},
        {},
        None,
        False,
    ),
    (
        "after a told change, the next is told from there",
        [
            revision(3, minutes_ago(60), ("In Planning", "On Hold")),
            revision(4, minutes_ago(10), ("On Hold", "Active")),
        ],
        {"notify:7:3": {"notified": {}}},
        {},
        (4, "In progress"),
        False,
    ),
    (
        "a decision's close is told by the decision's email",
        [revision(3, minutes_ago(10), ("In Planning", "Closed"))],
        {"close": {"state": "Closed", "at": minutes_ago(10).isoformat()}},
        {},
        None,
        False,
    ),
    (
        "a close by a person is told",
        [revision(3, minutes_ago(10), ("In Planning", "Closed"))],
        {},
        {},
        (3, "Closed"),
        False,
    ),
    (
        "a change that keeps the client's label is no news",
        [
            revision(3, minutes_ago(30), ("In Planning", "Active")),
            revision(4, minutes_ago(10), ("Active", "Doing")),
        ],
        {"notify:7:3": {"notified": {}}},
        {},
        None,
        False,
    ),
    (
        "a change older than the horizon is not announced any more",
        [revision(3, NOW - timedelta(days=8), ("In Planning", "On Hold"))],
        {},
        {},
        None,
        False,
    ),
    (
        "with no window a change is told at once",
        [revision(3, NOW, ("In Planning", "Active"))],
        {},
        {"client_notify_merge_minutes": 0},
        (3, "In progress"),
        False,
    ),
    (
        "configured labels are the client's words",
        [revision(3, minutes_ago(10), ("In Planning", "Blocked"))],
        {},
        {"client_state_labels": {"Blocked": "Waiting on a third party"}},
        (3, "Waiting on a third party"),
        False,
    ),
]


@pytest.mark.parametrize(
    ("later", "steps", "settings", "expected", "settling"),
    [case[1:] for case in STATE_CASES],
    ids=[case[0] for case in STATE_CASES],
)
def test_state_emails_due(later, steps, settings, expected, settling):
    verdict = client_notify.state_verdict(
        ITEM, created() + later, record(**steps), policy(**settings), NOW
    )
    got = None if verdict.notice is None else (verdict.notice.rev, verdict.notice.label)
    assert got == expected
    assert verdict.settling is settling
    if verdict.notice is not None:
        assert verdict.notice.key == f"notify:{ITEM}:{expected[0]}"


def test_nothing_is_said_before_intake_told_the_client_its_own_words():
    later = [revision(3, minutes_ago(10), ("In Planning", "On Hold"))]
    unfinished = record()
    del unfinished.steps["tell_client_planning"]
    verdict = client_notify.state_verdict(ITEM, created() + later, unfinished, policy(), NOW)
    assert verdict == client_notify.StateVerdict(None, settling=True)
    failed = unfinished.model_copy(update={"status": "failed"})
    verdict = client_notify.state_verdict(ITEM, created() + later, failed, policy(), NOW)
    assert verdict == client_notify.StateVerdict(None, settling=False)


def test_the_creation_revision_is_not_a_change():
    assert [c.rev for c in client_notify.state_changes(created())] == [2]


@pytest.mark.parametrize(
    ("html", "for_client"),
    [
        ("#client Hello", True),
        ("#CLIENT: Hello", True),
        ("<div><p> &nbsp;#Client we fixed it</p></div>", True),
        ("\n  <p>#client</p><p>two lines</p>", True),
        ("#clientele is growing", False),
        ("Hello #client", False),
        ("<p>internal note</p>", False),
        ("", False),
    ],
)
def test_a_comment_is_for_the_client_only_when_it_starts_with_the_marker(html, for_client):
    assert client_notify.is_for_client(html) is for_client


def test_what_the_client_reads_of_a_comment():
    html = (
        '<div><p>#client <a href="#" data-vss-mention="version:2.0,abc">@Jordan Rivera</a>, '
        'fixed in <a href="https://dev.azure.com/contoso/Intake/_workitems/edit/9">#9</a>; '
        "see https://contoso.visualstudio.com/x and "
        '<a href="https://status.fabrikam.example/">our status</a>.'
        "<script>alert(1)</script><img src=x onerror=alert(2)></p></div>"
    )
    shown = client_notify.client_html(html, ["https://dev.azure.com/contoso"])
    assert "#client" not in shown.lower()
    assert "Jordan Rivera" in shown and "data-vss-mention" not in shown
    assert "dev.azure.com" not in shown and "visualstudio.com" not in shown
    assert "[link removed]" in shown
    assert 'href="https://status.fabrikam.example/"' in shown
    assert "<script" not in shown and "onerror" not in shown and "<img" not in shown
    assert client_notify.plain_text(shown).startswith("Jordan Rivera, fixed in #9;")


def test_an_internal_address_given_as_a_setting_is_removed():
    shown = client_notify.client_html(
        "#client see http://127.0.0.1:7071/dev/board#work-item-1", ["http://127.0.0.1:7071/dev/"]
    )
    assert "/dev/board" not in shown


def comment(comment_id: int, html: str, *, by_intake: bool = False, age_minutes: float = 1):
    person = Identity("p1", "Morgan Scrum", "morgan@contoso.example")
    return DiscussionComment(comment_id, html, person, minutes_ago(age_minutes), by_intake)


def test_comments_due_skip_intake_own_internal_sent_and_empty_ones():
    comments = [
        comment(1, "<p>internal: the DB is on fire</p>"),
        comment(2, "#client We are on it.\nMore soon."),
        comment(3, "#client Intake asks: which browser?", by_intake=True),
        comment(4, "#client already sent"),
        comment(5, "<p>#client</p>"),
        comment(6, "#client a week and more ago", age_minutes=60 * 24 * 8),
    ]
    steps = {"client-comment:7:4": {"client_email": {}}}
    due = client_notify.comments_due(ITEM, comments, record(**steps), NOW)
    assert [(n.key, n.text) for n in due] == [("client-comment:7:2", "We are on it.\nMore soon.")]


def test_the_discussion_is_read_only_when_a_comment_is_new():
    updates = [*created(), revision(3, minutes_ago(5), None, **{"System.CommentCount": {}})]
    assert client_notify.needs_discussion(ITEM, created(), record()) is None
    assert client_notify.needs_discussion(ITEM, updates, record()) == 3
    read = record(**{"comments-read:7:3": {"read": True}})
    assert client_notify.needs_discussion(ITEM, updates, read) is None


def test_the_page_shows_each_state_change_of_the_history_by_its_client_label_only():
    from intake.client_status import state_entries

    history = created() + [
        revision(3, minutes_ago(50), ("In Planning", "Active")),
        revision(4, minutes_ago(40), ("Active", "Doing")),  # the same label: not news
        revision(5, minutes_ago(30), ("Doing", "Blocked")),  # no label: the fallback
        revision(6, minutes_ago(20), ("Blocked", "Closed")),
    ]
    entries = state_entries(record(), Settings(), history)
    assert [(e.at, e.text) for e in entries] == [
        (T0, "Status: Being triaged"),
        (minutes_ago(50), "Status: In progress"),
        (minutes_ago(20), "Status: Closed"),
    ]
    assert not any(word in e.text for e in entries for word in ("Active", "Doing", "Blocked"))
    # Without a history, the changes Intake recorded.
    assert [e.text for e in state_entries(record(), Settings())] == ["Status: Being triaged"]
