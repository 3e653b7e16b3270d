"""What people read: description HTML, emails, the triage card. Typed text is never markup."""

from __future__ import annotations

import json

from intake import emails
from intake.description import ALLOWED_TAGS, describe_request
from intake.models import Answer, Request
from intake.triage_card import build_triage_card, escape_markdown
from tests.html_check import foreign_markup, live_tags

HOSTILE = '<img src=x onerror="alert(1)"> **bold** [link](javascript:alert(1)) qty < 5 & b > 3'


def request(**changes):
    values = {
        "id": "r1",
        "form_id": "f",
        "response_id": "1",
        "title": HOSTILE,
        "client_name": "Jo <Jo>",
        "client_email": "jo@fabrikam.example",
        "description": HOSTILE + "\nline two",
        "answers": [Answer(question_id="q1", question="<i>Q</i>", text=HOSTILE)],
    }
    values.update(changes)
    return Request(**values)


def test_description_escapes_every_answer_and_keeps_line_breaks():
    html = describe_request(request())
    assert foreign_markup(html, ALLOWED_TAGS, {"href"}) == []
    assert "&lt;img src=x onerror=" in html and "&lt;i&gt;Q&lt;/i&gt;" in html
    assert "line two" in html and "<br>" in html


def test_emails_escape_typed_text_in_html_and_keep_it_in_text():
    email = emails.client_confirmation(
        request(), 7, "k", status_url="https://intake.example/api/status/t", reply_to="i@x.example"
    )
    assert [tag for tag, _ in live_tags(email.html) if tag in ("img", "i")] == []
    assert "&lt;img" in email.html
    assert HOSTILE in email.text
    assert "#7" in email.subject


def test_subjects_are_one_line():
    email = emails.coordinator_new_request(
        request(title="a\r\nBcc: x@evil.example"), 7, "https://dev/7", "casey@contoso.example", "k"
    )
    assert "\r" not in email.subject and "\n" not in email.subject


def test_markdown_is_escaped_so_text_shows_as_typed():
    assert escape_markdown("**x** _y_ [a](b) `c` # h") == r"\*\*x\*\* \_y\_ \[a\](b) \`c\` \# h"
    assert escape_markdown("- item\n1. first\n12 apples") == "\\- item\n1\\. first\n12 apples"


def test_the_card_carries_escaped_facts_and_the_request_id_on_every_button():
    card = build_triage_card(request(), 42, "https://dev.azure.com/contoso/_workitems/edit/42")
    texts = [item.get("text", "") for item in card["body"]]
    assert "ticket #42" in texts[0]
    assert r"\*\*bold\*\*" in texts[1] and "[link]" not in texts[1]
    for action in card["actions"]:
        if action["type"] == "Action.Execute":
            assert action["data"]["requestId"] == "r1"
    assert card["actions"][-1]["url"].endswith("/42")


SPOOF = "Invoice \u202egnp.exe\u202c overdue\u200b\x7f\x9b"


def test_the_card_shows_no_bidi_override_zero_width_or_control_character():
    card = build_triage_card(request(title=SPOOF, client_name=SPOOF, description=SPOOF), 1, "u")
    texts = json.dumps(card, ensure_ascii=False)
    assert "Invoice gnp.exe overdue" in texts
    assert not any(ch in texts for ch in "\u202e\u202c\u200b\x7f\x9b")


def test_email_subjects_follow_the_same_text_rule():
    email = emails.coordinator_new_request(
        request(title="a\u2028b\x85c\u2029d " + SPOOF), 7, "https://dev/7", "c@x.example", "k"
    )
    assert email.subject.endswith(": a b c d Invoice gnp.exe overdue")
