"""Finds live markup in HTML: the tags and attributes a browser or mail client would act on."""

from __future__ import annotations

from html.parser import HTMLParser


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def live_tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    collector = _Collector()
    collector.feed(html)
    return collector.tags


def foreign_markup(html: str, allowed_tags: set[str], allowed_attributes: set[str]) -> list[str]:
    """Tags outside ``allowed_tags``, attributes outside ``allowed_attributes``, and
    ``javascript:`` URLs: what typed text must never become."""
    problems = []
    for tag, attrs in live_tags(html):
        if tag not in allowed_tags:
            problems.append(f"<{tag}>")
        for name, value in attrs:
            if name not in allowed_attributes:
                problems.append(f"<{tag} {name}>")
            if value and value.strip().lower().startswith(("javascript:", "data:")):
                problems.append(f"<{tag} {name}={value}>")
    return problems
