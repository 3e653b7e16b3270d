"""What a client's email reply is, whether it came from a person, which request it answers,
and the text worth keeping. Pure: no I/O (the use case is ``intake/inbound.py``).

Rules (issue 14, DESIGN "After triage"):
- Automatic replies (RFC 3834 ``Auto-Submitted`` other than ``no``; Exchange's
  ``X-Auto-Response-Suppress``; ``Precedence: bulk|junk|list``; Outlook's out-of-office, seen
  by its ``X-MS-Exchange-*`` headers or its subject) are shown on the page and nothing else.
- Matching, in order: a recorded internet message id in ``In-Reply-To``/``References``; else
  the subject's ``[#1234]`` tag *and* a sender equal to that request's client email
  (case-insensitive); else unmatched. A sender who is not the request's client never writes
  to it, however it matched.
- The kept text: the quoted history cut (``On … wrote:``, ``>`` lines, Apple Mail's and
  Outlook's header blocks, a few German and French forms), at most 8,000 characters.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from enum import StrEnum

from intake.text_rules import clean_text

MAX_REPLY_CHARS = 8_000
# Where html_to_text saw a quoted block begin and end (plain words nh3 keeps as text).
QUOTE_START, QUOTE_END = "@@intake-quote-start@@", "@@intake-quote-end@@"
TRUNCATED = "\n[…]"

# RFC 5322 msg-id: what In-Reply-To and References hold, several in References.
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# The tag every client email's subject ends in (``emails.request_tag``).
SUBJECT_TAG = re.compile(r"\[#(\d{1,9})\]")

AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(?:matic)?[- ]?reply|out of (?:the )?office|autoreply"
    r"|abwesenheitsnotiz|automatische antwort|r[ée]ponse automatique|absence du bureau)\b",
    re.IGNORECASE,
)
# Exchange marks what its own rules generate (out-of-office, auto-replies): any of these
# headers with a value naming it.
EXCHANGE_AUTO_HEADERS = {
    "x-ms-exchange-generated-message-source",
    "x-ms-exchange-inbox-rules-loop",
}
AUTO_MESSAGE_CLASSES = ("ipm.note.rules.oofetemplate", "ipm.note.rules.replytemplate")

# Where the quoted history starts: the first line that matches any of these.
_ATTRIBUTION = [
    # Gmail, Apple Mail, Thunderbird: "On Mon, 1 Dec 2026 at 10:00, Intake <x@y> wrote:"
    # (the attribution may wrap onto a second line, hence the DOTALL-free two-line form).
    re.compile(r"^\s*On\b.{0,300}?\bwrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Am\b.{0,300}?\bschrieb\b.{0,200}:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Le\b.{0,300}?\ba [ée]crit\s*:\s*$", re.IGNORECASE),
    # Outlook desktop / web: a rule line, or the "-----Original Message-----" form.
    re.compile(
        r"^\s*-{2,}\s*(original message|ursprüngliche nachricht|message d'origine)"
        r"\s*-{2,}\s*$",
        re.IGNORECASE,
    ),
    re.compile(r"^\s*_{10,}\s*$"),
    # Apple Mail's forwarded/quoted block: "Begin forwarded message:".
    re.compile(r"^\s*begin forwarded message:\s*$", re.IGNORECASE),
]
# Outlook's header block: "From:" (or Von:/De:) followed within a few lines by Sent/Date
# and Subject lines.
_HEADER_FROM = re.compile(r"^\s*\**(from|von|de)\s*:\**\s*\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\s*\**(sent|date|to|cc|subject|gesendet|datum|an|betreff|envoy[ée]|[àa]|objet)\s*:",
    re.IGNORECASE,
)


class Verdict(StrEnum):
    """What a message is to Intake."""

    REPLY = "reply"  # a person's reply to a request: comment, note, page
    AUTOMATIC = "automatic"  # an auto-reply to a request: the page only
    UNMATCHED = "unmatched"  # nobody's reply we can tell: forwarded to the coordinator


@dataclass(frozen=True)
class InboundAttachment:
    """A file attached to an inbound message (only the ones within the size limit are read)."""

    name: str
    content_type: str
    size: int
    content: bytes = b""


@dataclass(frozen=True)
class InboundMessage:
    """One message that arrived in the sender mailbox, as the mailbox gives it.

    ``mailbox_id`` is the mailbox's own id (Graph's message id, the local row's id): what
    reading its attachments names. ``headers`` are the internet headers, names lower-cased.
    """

    internet_message_id: str
    sender: str
    subject: str
    text: str = ""
    html: str = ""
    in_reply_to: str = ""
    references: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    mailbox_id: str = ""
    has_attachments: bool = False
    received_at: str = ""
    attachments: tuple[InboundAttachment, ...] = field(default=())

    def header(self, name: str) -> str:
        """The first value of header ``name`` (case-insensitive), or ''."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), "")

    @property
    def effect_key(self) -> str:
        """The key that makes handling this message happen once, however often it is read."""
        return f"reply:{self.internet_message_id}"


@dataclass(frozen=True)
class Match:
    """Which request a message belongs to (None: unmatched) and how it was found."""

    request_id: str | None
    by: str  # "reference", "tag" or "" (unmatched)


def is_automatic_reply(message: InboundMessage) -> bool:
    """RFC 3834 and Exchange's ways of saying a message was not written by a person."""
    auto_submitted = message.header("auto-submitted").strip().lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return True
    if message.header("x-auto-response-suppress").strip():
        return True
    if message.header("precedence").strip().lower() in {"bulk", "junk", "list"}:
        return True
    if message.header("x-autoreply").strip() or message.header("x-autorespond").strip():
        return True
    for name in EXCHANGE_AUTO_HEADERS:
        if message.header(name).strip():
            return True
    if message.header("x-ms-exchange-message-class").strip().lower() in AUTO_MESSAGE_CLASSES:
        return True
    return AUTO_SUBJECT.match(message.subject) is not None


def referenced_ids(message: InboundMessage) -> list[str]:
    """The message ids this message answers: ``In-Reply-To`` first, then ``References`` from
    the newest (last) back."""
    found = MESSAGE_ID.findall(message.in_reply_to)
    found += reversed(MESSAGE_ID.findall(message.references))
    return list(dict.fromkeys(found))


def subject_number(subject: str) -> int | None:
    """The work item number of the subject's last ``[#1234]`` tag, if any."""
    tags = SUBJECT_TAG.findall(subject)
    return int(tags[-1]) if tags else None


def same_address(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower() and bool(a.strip())


def match(
    message: InboundMessage,
    *,
    by_reference: tuple[str, str] | None,
    by_tag: tuple[str, str] | None,
) -> Match:
    """Which request ``message`` answers.

    ``by_reference``: (request id, its client email) of the request one of
    ``referenced_ids(message)`` was recorded for, if any; ``by_tag``: the same for the
    request whose work item the subject's tag names. Either only counts when the sender is
    that request's client: a stranger replying to a forwarded email never writes to it.
    """
    if by_reference is not None and same_address(message.sender, by_reference[1]):
        return Match(by_reference[0], "reference")
    if by_tag is not None and same_address(message.sender, by_tag[1]):
        return Match(by_tag[0], "tag")
    return Match(None, "")


def html_to_text(markup: str) -> str:
    """Plain text of an HTML body: blocks become lines, quoted blocks are kept as ``>`` lines
    (so ``strip_quoted`` can cut them), every tag and script dropped."""
    marked = re.sub(r"(?is)<(script|style|head)\b.*?</\1\s*>", "", markup)
    # Outlook web and Gmail wrap the history in a blockquote or a div of their own.
    marked = re.sub(r"(?is)<blockquote\b[^>]*>", "\n<q-start>\n", marked)
    marked = re.sub(r"(?is)</blockquote\s*>", "\n<q-end>\n", marked)
    marked = re.sub(
        r'(?is)<div\b[^>]*id="(?:divRplyFwdMsg|appendonsend)"[^>]*>', "\n____________\n", marked
    )
    marked = re.sub(r"(?is)<div\b[^>]*class=\"gmail_quote[^\"]*\"[^>]*>", "\n<q-start>\n", marked)
    marked = re.sub(r"(?i)<br\s*/?>", "\n", marked)
    marked = re.sub(r"(?i)</(p|div|tr|li|h[1-6])\s*>", "\n", marked)
    marked = re.sub(r"(?i)<hr\b[^>]*>", "\n____________\n", marked)
    marked = marked.replace("<q-start>", QUOTE_START).replace("<q-end>", QUOTE_END)
    import nh3  # loaded when a reply is read, not on the intake path

    text = nh3.clean(marked, tags=set(), attributes={}, strip_comments=True)
    text = html.unescape(text)
    lines, depth = [], 0
    for line in text.split("\n"):
        if QUOTE_START in line:
            depth += 1
            continue
        if QUOTE_END in line:
            depth = max(0, depth - 1)
            continue
        lines.append(("> " if depth else "") + line.strip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def strip_quoted(text: str) -> str:
    """The new part of a reply: everything from the first mark of quoted history on is cut,
    and ``>`` lines anywhere are dropped."""
    lines = clean_text(text).split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if _starts_history(lines, index):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


def _starts_history(lines: list[str], index: int) -> bool:
    line = lines[index]
    if any(pattern.match(line) for pattern in _ATTRIBUTION):
        return True
    # "On Mon, 1 Dec 2026 at 10:00, Intake <x@y>\nwrote:" (Gmail wraps long attributions).
    if index + 1 < len(lines) and re.match(r"^\s*On\b", line, re.IGNORECASE):
        joined = f"{line} {lines[index + 1]}"
        if _ATTRIBUTION[0].match(joined):
            return True
    if _HEADER_FROM.match(line):
        following = [candidate for candidate in lines[index + 1 : index + 5] if candidate.strip()]
        return sum(1 for candidate in following if _HEADER_NEXT.match(candidate)) >= 2
    return False


def reply_text(message: InboundMessage) -> str:
    """The text a person wrote, history cut, at most ``MAX_REPLY_CHARS`` characters."""
    body = message.text if message.text.strip() else html_to_text(message.html)
    kept = strip_quoted(body)
    if len(kept) > MAX_REPLY_CHARS:
        kept = kept[: MAX_REPLY_CHARS - len(TRUNCATED)].rstrip() + TRUNCATED
    return kept


def comment_html(client_name: str, text: str, attachment_names: tuple[str, ...] = ()) -> str:
    """The work item comment for a reply: who wrote, then the text, escaped (every character
    the client typed is text, never markup), then the attached files' names."""
    body = html.escape(text).replace("\n", "<br>") or "<i>(no text)</i>"
    parts = [f"<p><b>Reply from {html.escape(client_name)} by email:</b></p>", f"<p>{body}</p>"]
    if attachment_names:
        names = ", ".join(html.escape(name) for name in attachment_names)
        parts.append(f"<p>Attached: {names}</p>")
    import nh3

    # nh3 as the second guard, as for descriptions: only these tags survive.
    return nh3.clean("".join(parts), tags={"p", "b", "i", "br"}, attributes={})
