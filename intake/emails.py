"""The emails Intake sends, rendered from jinja2 templates (HTML autoescaped, plain text too)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from intake.models import Email, Request
from intake.text_rules import clean_text


@cache
def _environment() -> Any:
    """The templates' jinja2 environment, built on first use: the POST /api/intake path never
    renders an email, so it never pays for importing jinja2 (cold start)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("intake", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


PLANNING_WORDS = "We will triage this request and reach out as soon as we have an assessment."


def planning_comment_for_unknown_client(request: Request) -> str:
    """The @client comment for a client DevOps does not know: their name and email as text
    (escaped: the client typed them), the same words, and that they were told by email."""
    from markupsafe import escape

    return (
        f"<p>{escape(request.client_name)} ({escape(str(request.client_email))}): "
        f"{escape(PLANNING_WORDS)}</p>"
        "<p><i>The client has no DevOps account here: they were told by email.</i></p>"
    )


def _subject(text: str) -> str:
    # A subject is one line; a typed newline would let text spill into mail headers. The text
    # rule (intake/text_rules.py) drops the controls that spoof ("gnp.exe" read backwards).
    return " ".join(clean_text(text, one_line=True).split())[:200]


def when(moment: datetime) -> str:
    """A time as the client reads it (UTC, as the emails' times)."""
    return moment.astimezone(UTC).strftime("%d %B %Y, %H:%M UTC").lstrip("0")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def render_page(name: str, **context: Any) -> str:
    """One HTML page from the templates (the client's status page), autoescaped."""
    environment = _environment()
    environment.filters.setdefault("when", when)
    environment.filters.setdefault("iso", iso)
    page: str = environment.get_template(name).render(**context)
    return page


def render(kind: str, **context: Any) -> tuple[str, str]:
    """The HTML and text bodies of one kind of email."""
    html: str = _environment().get_template(f"{kind}.html").render(**context)
    text: str = _environment().get_template(f"{kind}.txt").render(**context)
    return html, text


def compose(
    kind: str,
    *,
    key: str,
    to: str,
    work_item_id: int,
    subject: str,
    reply_to: str = "",
    headers: tuple[tuple[str, str], ...] = (),
    **context: Any,
) -> Email:
    """One email of ``kind`` to one person: its bodies rendered from ``context``, its subject
    made one safe line."""
    html, text = render(kind, **context)
    return Email(
        key=key,
        to=(to,),
        work_item_id=work_item_id,
        html=html,
        text=text,
        subject=_subject(subject),
        reply_to=(reply_to,) if reply_to else (),
        headers=headers,
    )


# RFC 3834: what we send is automatic, so no one's autoresponder should answer it. Graph's
# sendMail refuses internet headers whose names do not start with x- (Auto-Submitted among
# them), so it also carries Exchange's own ask not to send out-of-office and auto-replies.
CLIENT_HEADERS = (
    ("Auto-Submitted", "auto-generated"),
    ("X-Auto-Response-Suppress", "OOF, AutoReply"),
)


def request_tag(work_item_id: int) -> str:
    """What ends every client email's subject: a reply's subject finds its request by it."""
    return f"[#{work_item_id}]"


def compose_for_client(
    kind: str,
    *,
    key: str,
    request: Request,
    work_item_id: int,
    subject: str,
    status_url: str,
    reply_to: str,
    **context: Any,
) -> Email:
    """An email to the request's client: the status link (never the work item's), replies
    to the sender mailbox, and a subject ending in the request's tag, however long."""
    tag = request_tag(work_item_id)
    return compose(
        kind,
        key=key,
        to=request.client_email,
        work_item_id=work_item_id,
        subject=f"{_subject(subject)[: 199 - len(tag)]} {tag}",
        reply_to=reply_to,
        headers=CLIENT_HEADERS,
        request=request,
        number=work_item_id,
        status_url=status_url,
        **context,
    )


def client_confirmation(
    request: Request, work_item_id: int, key: str, *, status_url: str, reply_to: str
) -> Email:
    return compose_for_client(
        "client_confirmation",
        key=key,
        request=request,
        work_item_id=work_item_id,
        subject=f"We received your request #{work_item_id}: {request.title}",
        status_url=status_url,
        reply_to=reply_to,
    )


def coordinator_new_request(
    request: Request,
    work_item_id: int,
    work_item_url: str,
    coordinator: str,
    key: str,
    *,
    client_not_emailed: str = "",
) -> Email:
    """``client_not_emailed``: why the client gets no email (an open form's limit), if so."""
    return compose(
        "coordinator_new_request",
        key=key,
        to=coordinator,
        work_item_id=work_item_id,
        subject=f"New request #{work_item_id} from {request.client_name}: {request.title}",
        request=request,
        number=work_item_id,
        url=work_item_url,
        client_not_emailed=client_not_emailed,
    )


def client_planning(
    request: Request, work_item_id: int, key: str, *, status_url: str, reply_to: str
) -> Email:
    """What a client without a DevOps identity gets instead of the @mention comment."""
    return compose_for_client(
        "client_planning",
        key=key,
        request=request,
        work_item_id=work_item_id,
        subject="Your request is being triaged",
        status_url=status_url,
        reply_to=reply_to,
        words=PLANNING_WORDS,
    )


def client_state_changed(
    request: Request, work_item_id: int, key: str, *, label: str, status_url: str, reply_to: str
) -> Email:
    """The request's state changed (whoever changed it): its new label, as the client reads it."""
    return compose_for_client(
        "client_state_changed",
        key=key,
        request=request,
        work_item_id=work_item_id,
        subject=f"Your request is now: {label}",
        status_url=status_url,
        reply_to=reply_to,
        label=label,
    )


def client_comment(
    request: Request,
    work_item_id: int,
    key: str,
    *,
    message_html: str,
    message_text: str,
    status_url: str,
    reply_to: str,
) -> Email:
    """A ``#client`` comment from the discussion. ``message_html`` is already sanitised (see
    ``client_notify.client_html``): it is the one value the template does not escape."""
    from markupsafe import Markup

    return compose_for_client(
        "client_comment",
        key=key,
        request=request,
        work_item_id=work_item_id,
        subject="A message about your request",
        status_url=status_url,
        reply_to=reply_to,
        message_html=Markup(message_html),  # sanitised by nh3 in client_notify
        message_text=message_text,
    )


# --- issue 15: the On Hold relaunch and the weekly update --------------------------------------
def client_relaunch(
    request: Request,
    work_item_id: int,
    key: str,
    *,
    on_hold_since: str,
    status_url: str,
    reply_to: str,
) -> Email:
    """The request has been On Hold for weeks: ask the client for what is missing."""
    return compose_for_client(
        "client_relaunch",
        key=key,
        request=request,
        work_item_id=work_item_id,
        subject="We are waiting for your information",
        status_url=status_url,
        reply_to=reply_to,
        on_hold_since=on_hold_since,
    )


def client_weekly_update(
    request: Request, work_item_id: int, key: str, *, label: str, status_url: str, reply_to: str
) -> Email:
    """A week without news: the request's state as the client reads it, nothing new yet."""
    return compose_for_client(
        "client_weekly_update",
        key=key,
        request=request,
        work_item_id=work_item_id,
        subject=f"No news yet on your request: {label}",
        status_url=status_url,
        reply_to=reply_to,
        label=label,
    )
