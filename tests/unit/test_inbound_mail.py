"""The rules of inbound email: automatic replies, matching, quote stripping, the comment."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from intake.inbound_mail import (
    MAX_REPLY_CHARS,
    InboundMessage,
    comment_html,
    html_to_text,
    is_automatic_reply,
    match,
    referenced_ids,
    reply_text,
    strip_quoted,
    subject_number,
)

CLIENT = "Dana.Client@Example.com"


def message(**fields: object) -> InboundMessage:
    values: dict[str, object] = {
        "internet_message_id": "<reply-1@example.com>",
        "sender": CLIENT,
        "subject": "RE: We received your request #42: Printer on fire [#42]",
        "text": "Thanks!",
    }
    values.update(fields)
    return InboundMessage(**values)  # type: ignore[arg-type]


# --- automatic replies (RFC 3834, Exchange) ---------------------------------------------------
def test_a_person_s_reply_is_not_automatic() -> None:
    assert not is_automatic_reply(message())
    assert not is_automatic_reply(message(headers=(("Auto-Submitted", "no"),)))


def test_auto_submitted_other_than_no_is_automatic() -> None:
    for value in ("auto-replied", "auto-generated", "auto-notified; owner-email=x@y"):
        assert is_automatic_reply(message(headers=(("auto-submitted", value),)))


def test_exchange_suppress_and_precedence_are_automatic() -> None:
    assert is_automatic_reply(message(headers=(("X-Auto-Response-Suppress", "All"),)))
    for value in ("bulk", "junk", "list", "BULK"):
        assert is_automatic_reply(message(headers=(("Precedence", value),)))
    assert not is_automatic_reply(message(headers=(("Precedence", "first-class"),)))


def test_outlook_out_of_office_shapes_are_automatic() -> None:
    assert is_automatic_reply(message(subject="Automatic reply: Your request [#42]"))
    assert is_automatic_reply(message(subject="Out of Office: Your request [#42]"))
    assert is_automatic_reply(message(subject="Automatische Antwort: Ihre Anfrage [#42]"))
    assert is_automatic_reply(message(subject="Réponse automatique : votre demande [#42]"))
    assert is_automatic_reply(
        message(subject="RE: x", headers=(("X-MS-Exchange-Inbox-Rules-Loop", "a@b.c"),))
    )
    assert is_automatic_reply(
        message(
            subject="RE: x",
            headers=(("X-MS-Exchange-Generated-Message-Source", "Mailbox Rules Agent"),),
        )
    )
    # A person who writes about an automatic reply is still a person.
    assert not is_automatic_reply(message(subject="RE: my automatic reply was wrong [#42]"))


# --- matching ----------------------------------------------------------------------------------
def test_references_are_read_in_reply_to_first_then_newest_reference() -> None:
    found = referenced_ids(message(in_reply_to="<b@x>", references="<a@x> <c@x>\r\n <b@x>"))
    assert found == ["<b@x>", "<c@x>", "<a@x>"]


def test_subject_tag_is_the_last_one() -> None:
    assert subject_number("RE: FW: [#7] old [#42]") == 42
    assert subject_number("RE: no tag #42") is None


def test_a_recorded_message_id_from_the_client_matches_first() -> None:
    found = match(
        message(), by_reference=("req-a", "dana.client@example.com"), by_tag=("req-b", CLIENT)
    )
    assert (found.request_id, found.by) == ("req-a", "reference")


def test_the_tag_matches_only_with_the_client_as_sender() -> None:
    found = match(message(), by_reference=None, by_tag=("req-b", "DANA.CLIENT@example.com"))
    assert (found.request_id, found.by) == ("req-b", "tag")
    stranger = message(sender="mallory@example.net")
    assert match(stranger, by_reference=None, by_tag=("req-b", CLIENT)).request_id is None


def test_a_stranger_replying_to_a_recorded_email_never_writes_to_it() -> None:
    stranger = message(sender="colleague@example.com")
    found = match(stranger, by_reference=("req-a", CLIENT), by_tag=("req-a", CLIENT))
    assert found.request_id is None and found.by == ""


def test_nothing_known_is_unmatched() -> None:
    assert match(message(), by_reference=None, by_tag=None).request_id is None


# --- quote stripping ---------------------------------------------------------------------------
GMAIL = """It still happens after the restart.
Second line.

On Mon, 7 Dec 2026 at 10:02, Intake <support@contoso.com> wrote:
> We received your request #42.
> Status: https://intake/status/abc
"""

GMAIL_WRAPPED = """Yes, please go ahead.

On Mon, 7 Dec 2026 at 10:02, Intake Support Mailbox of Contoso <support@contoso.com>
wrote:
> old text
"""

APPLE = """Here is the log you asked for.

Sent from my iPhone

> On 7 Dec 2026, at 10:02, Intake <support@contoso.com> wrote:
>
> We received your request #42.
"""

OUTLOOK_DESKTOP = """Hi, the serial number is 12345.

Dana

-----Original Message-----
From: Intake <support@contoso.com>
Sent: Monday, December 7, 2026 10:02 AM
To: Dana Client <dana.client@example.com>
Subject: We received your request #42 [#42]

We received your request.
"""

OUTLOOK_WEB = """Three people are affected.

________________________________
From: Intake <support@contoso.com>
Sent: Monday, December 7, 2026 10:02
To: Dana Client
Subject: Your request is being triaged [#42]

We will triage this request.
"""

OUTLOOK_HEADER_ONLY = """Works now, thanks.

From: Intake <support@contoso.com>
Sent: Monday, December 7, 2026 10:02
To: Dana Client <dana.client@example.com>
Subject: Your request is being triaged [#42]
"""

GERMAN = """Danke, das hilft.

Am Mo., 7. Dez. 2026 um 10:02 Uhr schrieb Intake <support@contoso.com>:
> Wir haben Ihre Anfrage erhalten.
"""

FRENCH = """Merci, c'est réglé.

Le lun. 7 déc. 2026 à 10:02, Intake <support@contoso.com> a écrit :
> Nous avons reçu votre demande.
"""

GERMAN_OUTLOOK = """Bitte schließen.

Von: Intake <support@contoso.com>
Gesendet: Montag, 7. Dezember 2026 10:02
An: Dana Client
Betreff: Ihre Anfrage [#42]
"""


def test_gmail_history_is_cut() -> None:
    assert strip_quoted(GMAIL) == "It still happens after the restart.\nSecond line."
    assert strip_quoted(GMAIL_WRAPPED) == "Yes, please go ahead."


def test_apple_mail_history_is_cut() -> None:
    assert strip_quoted(APPLE) == "Here is the log you asked for.\n\nSent from my iPhone"


def test_outlook_desktop_and_web_history_is_cut() -> None:
    assert strip_quoted(OUTLOOK_DESKTOP) == "Hi, the serial number is 12345.\n\nDana"
    assert strip_quoted(OUTLOOK_WEB) == "Three people are affected."
    assert strip_quoted(OUTLOOK_HEADER_ONLY) == "Works now, thanks."


def test_german_and_french_history_is_cut() -> None:
    assert strip_quoted(GERMAN) == "Danke, das hilft."
    assert strip_quoted(FRENCH) == "Merci, c'est réglé."
    assert strip_quoted(GERMAN_OUTLOOK) == "Bitte schließen."


def test_a_from_line_in_the_client_s_own_words_is_kept() -> None:
    text = "From: my side it works.\nThanks"
    assert strip_quoted(text) == text


def test_interleaved_quotes_are_dropped_and_answers_kept() -> None:
    text = "> Which version?\n2.3.1\n> Which OS?\nWindows 11"
    assert strip_quoted(text) == "2.3.1\nWindows 11"


# --- HTML bodies -------------------------------------------------------------------------------
def test_outlook_html_body_becomes_text_without_history() -> None:
    markup = (
        "<html><head><style>p{color:red}</style></head><body>"
        "<div>The printer is <b>still</b> on fire &amp; smoking.</div>"
        '<div id="appendonsend"></div><hr>'
        '<div id="divRplyFwdMsg"><b>From:</b> Intake &lt;support@contoso.com&gt;<br>'
        "<b>Sent:</b> Monday<br><b>To:</b> Dana<br><b>Subject:</b> x [#42]</div>"
        "<div>We received your request.</div></body></html>"
    )
    found = reply_text(message(text="", html=markup))
    assert found == "The printer is still on fire & smoking."


def test_gmail_html_quote_is_cut_and_scripts_never_survive() -> None:
    markup = (
        '<div dir="ltr">Yes<br>it works<script>alert(1)</script></div><br>'
        '<div class="gmail_quote"><div class="gmail_attr">On Mon, 7 Dec 2026, Intake wrote:'
        "</div><blockquote>We received</blockquote></div>"
    )
    assert html_to_text(markup).startswith("Yes\nit works")
    assert reply_text(message(text="", html=markup)) == "Yes\nit works"


def test_a_long_reply_is_cut_at_the_limit() -> None:
    found = reply_text(message(text="x" * (MAX_REPLY_CHARS * 2)))
    assert len(found) == MAX_REPLY_CHARS and found.endswith("[…]")


# --- the comment -------------------------------------------------------------------------------
def test_the_comment_names_the_client_and_escapes_what_they_typed() -> None:
    found = comment_html(
        "Dana <b>Client</b>", '<img src=x onerror="alert(1)">\nline 2', ("a<b>.txt",)
    )
    assert found.startswith("<p><b>Reply from Dana &lt;b&gt;Client&lt;/b&gt; by email:</b></p>")
    assert "<img" not in found and "&lt;img" in found and "<br>" in found
    assert "a&lt;b&gt;.txt" in found


def test_the_effect_key_is_the_internet_message_id() -> None:
    assert message().effect_key == "reply:<reply-1@example.com>"


@settings(max_examples=200, deadline=None)
@given(body=st.text(max_size=3000), markup=st.text(max_size=3000))
def test_any_body_gives_a_capped_text_and_a_comment_with_no_markup_of_the_sender(
    body: str, markup: str
) -> None:
    found = reply_text(message(text=body))
    assert len(found) <= MAX_REPLY_CHARS
    from_html = reply_text(
        message(text="", html=f"<div>{markup}</div><script>intake_scripted_9417()</script>")
    )
    assert "intake_scripted_9417" not in from_html
    comment = comment_html("Dana", found + from_html)
    assert "<script" not in comment and "<div" not in comment
