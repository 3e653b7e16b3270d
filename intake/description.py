"""The work item's description: every answer of the form as sanitised HTML.

Values are escaped first (what a person typed is text, never markup), and the result goes
through ``nh3`` as a second guard, so no tag or attribute outside a small allow-list survives.
"""

from __future__ import annotations

import nh3
from markupsafe import Markup, escape

from intake.models import Request

ALLOWED_TAGS = {"h3", "table", "tbody", "tr", "th", "td", "p", "br", "b", "a"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}


def text_to_html(text: str) -> Markup:
    """Escape ``text`` and keep its line breaks."""
    return Markup("<br>").join(escape(line) for line in text.splitlines())


def sanitise_html(html: str) -> str:
    """Strip everything but the allowed tags and attributes (a second guard after escaping)."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"https", "http", "mailto"},
    )


def describe_request(request: Request) -> str:
    """The description HTML: the request's summary then every answer of the form."""
    rows = Markup("").join(
        Markup("<tr><th>{}</th><td>{}</td></tr>").format(answer.question, text_to_html(answer.text))
        for answer in request.answers
    )
    html = Markup(
        "<p><b>Request from</b> {name} &lt;{email}&gt;{organisation}</p>"
        "<p>{description}</p>"
        "<h3>Form answers</h3><table><tbody>{rows}</tbody></table>"
        "<p>Form {form} · response {response} · Intake request {request_id}</p>"
    ).format(
        name=request.client_name,
        email=request.client_email,
        organisation=Markup(", {}").format(request.organisation) if request.organisation else "",
        description=text_to_html(request.description),
        rows=rows,
        form=request.form_id,
        response=request.response_id,
        request_id=request.id,
    )
    return sanitise_html(str(html))
