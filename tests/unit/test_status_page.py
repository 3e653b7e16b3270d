"""The client's status page and the links to it, over fake ports: what a client sees, what
they never see, and how every bad link looks the same."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import timedelta

from intake import status_page, triage
from intake.cli.status import find_request, revoke
from intake.models import DecisionKind, utcnow
from tests.conftest import sample_submission, submitted_request
from tests.people import MORGAN
from tests.unit.test_triage import run_queue

LINK = re.compile(r"https?://[^\s\"<>]+/api/status/([A-Za-z0-9_-]+)")
NEWCOMER = "pat.newcomer@fabrikam.example"  # no DevOps identity: told by email


def submitted(world, **answers):
    return submitted_request(world, sample_submission(**answers))


def client_emails(world, address=NEWCOMER):
    return [e for e in world.mailer.sent if e.to == (address,)]


def token_in(email) -> str:
    (token,) = set(LINK.findall(email.text))
    assert f"/api/status/{token}" in email.html
    return token


def test_every_client_email_links_to_the_status_page_and_never_to_the_work_item(world):
    request_id = submitted(world, client_email=NEWCOMER, title="Reports page is blank")
    triage.decide(
        request_id,
        MORGAN,
        DecisionKind.NOT_OUR_PROBLEM,
        {"rootCause": "Their proxy drops TLS"},
        world.services,
    )
    run_queue(world)

    sent = client_emails(world)
    assert [e.subject for e in sent] == [
        "We received your request #1: Reports page is blank [#1]",
        "Your request is being triaged [#1]",
        "Your request is closed [#1]",
    ]
    work_item_url = world.work_items.url(1)
    for email in sent:
        assert "dev.azure.com" not in email.html + email.text
        assert work_item_url not in email.html + email.text
        assert email.reply_to == ("intake@contoso.example",)
        assert ("Auto-Submitted", "auto-generated") in email.headers
        assert status_page.answer(token_in(email), world.services).status == 200
    (coordinator,) = [e for e in world.mailer.sent if e.to == ("casey@contoso.example",)]
    assert work_item_url in coordinator.html and work_item_url in coordinator.text


def test_a_long_title_still_ends_the_subject_with_the_tag(world):
    submitted(world, client_email=NEWCOMER, title="x" * 255)
    for email in client_emails(world):
        assert email.subject.endswith(" [#1]") and len(email.subject) <= 200


def test_the_page_shows_the_request_its_label_and_what_the_client_was_sent(world):
    request_id = submitted(world, client_email=NEWCOMER, title="Reports <b>blank</b>")
    answer = status_page.answer(token_in(client_emails(world)[0]), world.services)

    assert answer.status == 200
    assert "<h1>Request #1: Reports &lt;b&gt;blank&lt;/b&gt;</h1>" in answer.html
    assert '<strong class="label">Being triaged</strong>' in answer.html
    record = world.store.get_request(request_id)
    assert record.request.received_at.strftime("%B %Y") in answer.html
    history = answer.html.split("<h2>History</h2>")[1]
    assert history.index("We received your request") < history.index("Email: We received")
    assert "Email: Your request is being triaged [#1]" in history
    assert "Status: Being triaged" in history


def test_the_label_follows_the_work_items_state_in_devops(world):
    submitted(world, client_email=NEWCOMER)
    token = token_in(client_emails(world)[0])
    world.work_items.items[1]["state"] = "On Hold"  # a person in DevOps
    assert "Waiting for information" in status_page.answer(token, world.services).html
    world.work_items.items[1]["state"] = "Some Custom State"
    html = status_page.answer(token, world.services).html
    assert "Some Custom State" not in html and '"label">In progress<' in html


def test_the_page_never_shows_devops_staff_votes_comments_or_another_request(world):
    first = submitted(world, client_email=NEWCOMER, title="First request")
    submitted(
        world, client_email="other@else.example", title="Someone else's request", responseId="r2"
    )
    triage.decide(
        first, MORGAN, DecisionKind.NOT_OUR_PROBLEM, {"rootCause": "internal note"}, world.services
    )
    run_queue(world)
    html = status_page.answer(token_in(client_emails(world)[0]), world.services).html

    for never in (
        "dev.azure.com",
        "_workitems",
        "casey@contoso.example",
        "Casey",
        "Morgan",
        "Root cause",
        "Someone else",
        "other@else.example",
        "<script",
    ):
        assert never not in html, never
    assert "Closed" in html


def test_a_bad_an_unknown_and_a_revoked_link_get_the_same_not_found_page(world):
    request_id = submitted(world, client_email=NEWCOMER)
    token = token_in(client_emails(world)[0])
    unknown = status_page.status_link(
        world.store.get_request(request_id).model_copy(
            update={
                "request": world.store.get_request(request_id).request.model_copy(
                    update={"id": "ffffffffffffffff"}
                )
            }
        ),
        world.services,
    ).rsplit("/", 1)[1]
    revoke(world.store.get_request(request_id), world.services)

    answers = [
        status_page.answer(t, world.services)
        for t in ("nonsense", token[:-2] + "AA", unknown, token)
    ]
    assert {a.status for a in answers} == {404}
    assert len({a.html for a in answers}) == 1
    assert "Page not found" in answers[0].html
    fresh = status_page.status_link(world.store.get_request(request_id), world.services)
    assert status_page.answer(fresh.rsplit("/", 1)[1], world.services).status == 200


def test_an_expired_link_says_how_to_get_a_new_one(world):
    submitted(world, client_email=NEWCOMER)
    token = token_in(client_emails(world)[0])
    world.clock = lambda: utcnow() + timedelta(days=181)

    answer = status_page.answer(token, world.services)

    assert answer.status == 410
    assert "reply to any of our emails" in answer.html


def test_every_answer_carries_the_strict_headers_and_the_style_its_hash_allows(world):
    submitted(world, client_email=NEWCOMER)
    for token in (token_in(client_emails(world)[0]), "nonsense"):
        answer = status_page.answer(token, world.services)
        headers = answer.headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "script" not in csp and "unsafe" not in csp
        (style,) = re.findall(r"<style>(.*?)</style>", answer.html, flags=re.S)
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        assert f"style-src 'sha256-{digest}'" in csp
        assert headers["X-Robots-Tag"].startswith("noindex")
        assert '<meta name="robots" content="noindex' in answer.html
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Cache-Control"] == "private, no-store"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "<script" not in answer.html and "style=" not in answer.html
        assert "http" not in answer.html.split("<body>")[1]  # no third-party asset or link


def test_staff_find_a_request_by_its_work_item_number_and_get_a_link(world):
    request_id = submitted(world, client_email=NEWCOMER)
    assert find_request("#1", world.services).request.id == request_id
    assert find_request(request_id, world.services).request.id == request_id
    link = status_page.status_link(find_request("1", world.services), world.services)
    assert link.startswith("http://127.0.0.1:7071/api/status/")
