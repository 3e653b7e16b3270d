"""A corpus of HTML, markdown, script and header injection strings through the whole flow on
the local host, checking every output: the work item, its description, every email, the card
and the local pages."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from intake.description import ALLOWED_ATTRIBUTES, ALLOWED_TAGS
from intake.text_rules import clean_text
from tests.conftest import sample_submission

pytestmark = pytest.mark.e2e

CORPUS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<svg/onload=alert(1)>",
    '"><iframe src="javascript:alert(1)"></iframe>',
    "<a href=\"javascript:alert('x')\">click</a>",
    "<a href='https://evil.example' onclick='steal()'>site</a>",
    "[click me](javascript:alert(1)) ![img](https://evil.example/x.png)",
    "**bold** _it_ `code` # heading > quote | table | ~~strike~~",
    "- item\n1. first\n+ plus",
    "\"double\" 'single' `back` &amp; &lt;b&gt; &#x3C;script&#x3E;",
    "\u202egnp.exe\u202c and zero\u200bwidth\u2066isolate\u2069",
    "Re: hi\r\nBcc: victim@evil.example\r\n\r\nbody",
    "{{ 7*7 }} {% raw %} ${7*7} <%= 7*7 %>",
    "<style>body{display:none}</style><object data=x></object>",
]
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
UNESCAPED_MARKDOWN = re.compile(r"(?<!\\)[\[\]*_`#|>~<]")


class Markup(HTMLParser):
    """The tags and attributes of an HTML document."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_no_live_markup(html: str, allowed_tags: set[str], where: str) -> None:
    for tag, attrs in Markup(html).tags:
        assert tag in allowed_tags, f"{where}: <{tag}> in {html[:300]}"
        for name, value in attrs:
            assert not name.startswith("on"), f"{where}: {name}= on <{tag}>"
            assert "javascript:" not in (value or "").lower(), f"{where}: {value}"
            if where == "description":
                assert name in ALLOWED_ATTRIBUTES.get(tag, set()), f"{where}: {name} on <{tag}>"


EMAIL_TAGS = {"html", "head", "meta", "title", "body", "p", "b", "a", "br", "table", "tr", "td"}
EMAIL_TAGS |= {"th", "tbody", "h3", "ul", "li", "div", "span", "hr"}


def test_injection_strings_are_kept_as_typed_and_never_live_anywhere(local_host):
    receipts = []
    for index, text in enumerate(CORPUS):
        title = " ".join(text.split())  # a title is one line; the rest keep their newlines
        submission = sample_submission(
            responseId=f"inject-{index}",
            title=title,
            description=text,
            client_name=text[:200],
            organisation=text,
            environment=text[:100],
        )
        answer = local_host.submit(submission)
        assert answer.status_code == 202, answer.text
        receipts.append((text, title, answer.json()["requestId"]))
    for _text, title, request_id in receipts:
        status = local_host.wait_until_done(request_id)
        assert status["status"] == "done", status
        item = local_host.work_item(status["workItemId"])
        assert item["title"] == clean_text(title, one_line=True).strip()
        assert_no_live_markup(item["fields"]["System.Description"], ALLOWED_TAGS, "description")
        for comment in item["comments"]:
            assert_no_live_markup(comment["html"], {"a", "p", "br", "b"}, "comment")

    emails = local_host.outbox()
    assert len(emails) == 2 * len(CORPUS)
    for email in emails:
        assert "\r" not in email["subject"] and "\n" not in email["subject"], email["subject"]
        assert not BIDI.search(email["subject"]), email["subject"]
        assert_no_live_markup(email["html"], EMAIL_TAGS, f"email {email['subject']}")
        for text, _, _ in receipts:
            if "<" in text:
                assert text not in email["html"]

    threads = local_host.threads()
    assert len(threads) == len(CORPUS)
    for thread in threads:
        body = {item.get("id"): item for item in thread["card"]["body"]}
        typed = [body["title"]["text"]]
        typed += [fact["value"] for fact in body["facts"]["facts"]]
        typed += [body["description"]["text"]] if "description" in body else []
        for value in typed:
            assert not UNESCAPED_MARKDOWN.search(value), value
            assert not re.search(r"^\s*([-+]|\d+\.)\s", value, re.MULTILINE), value

    for page in ("/dev/", "/dev/board", "/dev/outbox", "/dev/channel"):
        html = local_host.page(page)
        for text, _, _ in receipts:
            if "<" in text:
                assert text not in html, (page, text)
