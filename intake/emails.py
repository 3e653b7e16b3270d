"""The emails Intake sends, rendered from jinja2 templates (HTML autoescaped, plain text too)."""

from __future__ import annotations

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


def _subject(text: str) -> str:
    # A subject is one line; a typed newline would let text spill into mail headers. The text
    # rule (intake/text_rules.py) drops the controls that spoof ("gnp.exe" read backwards).
    return " ".join(clean_text(text, one_line=True).split())[:200]


def render(kind: str, **context: Any) -> tuple[str, str]:
    """The HTML and text bodies of one kind of email."""
    html: str = _environment().get_template(f"{kind}.html").render(**context)
    text: str = _environment().get_template(f"{kind}.txt").render(**context)
    return html, text


def compose(
    kind: str, *, key: str, to: str, work_item_id: int, subject: str, **context: Any
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
    )


def client_confirmation(request: Request, work_item_id: int, key: str) -> Email:
    return compose(
        "client_confirmation",
        key=key,
        to=request.client_email,
        work_item_id=work_item_id,
        subject=f"We received your request #{work_item_id}: {request.title}",
        request=request,
        number=work_item_id,
    )


def coordinator_new_request(
    request: Request, work_item_id: int, work_item_url: str, coordinator: str, key: str
) -> Email:
    return compose(
        "coordinator_new_request",
        key=key,
        to=coordinator,
        work_item_id=work_item_id,
        subject=f"New request #{work_item_id} from {request.client_name}: {request.title}",
        request=request,
        number=work_item_id,
        url=work_item_url,
    )


def client_planning(request: Request, work_item_id: int, work_item_url: str, key: str) -> Email:
    """What a client without a DevOps identity gets instead of the @mention comment."""
    return compose(
        "client_planning",
        key=key,
        to=request.client_email,
        work_item_id=work_item_id,
        subject=f"Your request #{work_item_id} is being triaged",
        request=request,
        number=work_item_id,
        words=PLANNING_WORDS,
        url=work_item_url,
    )
