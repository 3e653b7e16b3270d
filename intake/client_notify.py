"""What the client must be told now about their request's changes. Pure: no I/O.

Derived, never accumulated (DESIGN "After triage"): from the work item's updates (its DevOps
history, whoever changed it), the request's record (what Intake already said), the policy and
now. Nothing is kept between runs but the record of what was said, so a missed event, a
retry or a second timer run can neither lose nor repeat a message.

State changes. The client last heard of the state at the *baseline*: the latest change that
was emailed (step ``notify:{item}:{rev}``) or that Intake made itself and told in its own
words (the planning message, a decision's email: every step that records ``state_result``).
The changes after it are *pending*; once the newest is older than the merge window they are
told as one email, from the baseline's state to the last one (the last state wins), unless
that ends where it started, reads the same to the client, or is a silent pair. While a change
is younger than the window, nothing is said: a change soon after may still join it.

Comments. A discussion comment is for the client when its text starts with ``#client``
(any case, after tags and white space); the marker is removed, the HTML sanitised, mentions
shown as names, links into DevOps removed. Intake's own comments are never emailed again:
whatever Intake writes with ``#client`` it also tells the client itself.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import nh3

from intake.client_status import client_label
from intake.config import Settings
from intake.models import DiscussionComment, RequestRecord, RequestStatus, Step

# Intake's own state change shows in DevOps' history stamped by DevOps' clock, and in the
# record by ours, just after the change returned; this much skew between the two is allowed.
OWN_CHANGE_SKEW = timedelta(minutes=2)
# Changes older than this are not announced any more (history from before this feature, or
# after a long outage): the status page still shows them.
HORIZON = timedelta(days=7)
MAX_COMMENT_CHARS = 8000
CLIENT_MARKER = re.compile(r"^((?:\s|&nbsp;|&#160;|<[^>]*>)*)#client\b[:\s]*", re.IGNORECASE)
MENTION = re.compile(r"<a\b[^>]*data-vss-mention[^>]*>\s*@?([^<]*)</a>", re.IGNORECASE)
COMMENT_TAGS = {"p", "br", "b", "strong", "i", "em", "u", "ul", "ol", "li", "code", "pre", "a"}
COMMENT_TAGS |= {"blockquote", "div", "span"}
URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
DEVOPS_HOSTS = re.compile(r"^https?://([^/]*\.)?(dev\.azure\.com|visualstudio\.com)(/|$)", re.I)


def notify_key(work_item_id: int, rev: int) -> str:
    return f"notify:{work_item_id}:{rev}"


def comment_key(work_item_id: int, comment_id: int) -> str:
    return f"client-comment:{work_item_id}:{comment_id}"


def comments_read_key(work_item_id: int, rev: int) -> str:
    """Recorded once every comment up to revision ``rev`` was looked at."""
    return f"comments-read:{work_item_id}:{rev}"


@dataclass(frozen=True)
class NotifyPolicy:
    merge_window: timedelta
    silent: tuple[tuple[str, str], ...]
    label: Callable[[str], str]
    horizon: timedelta = HORIZON

    @classmethod
    def from_settings(cls, settings: Settings) -> NotifyPolicy:
        return cls(
            merge_window=timedelta(minutes=settings.client_notify_merge_minutes),
            silent=tuple((a, b) for a, b in settings.client_silent_transitions),
            label=lambda state: client_label(state, settings),
        )

    def is_silent(self, old: str, new: str) -> bool:
        def fits(pattern: str, state: str) -> bool:
            return pattern.strip() == "*" or pattern.strip().lower() == state.strip().lower()

        return any(fits(a, old) and fits(b, new) for a, b in self.silent)


@dataclass(frozen=True)
class StateChange:
    rev: int
    at: datetime
    old: str
    new: str


@dataclass(frozen=True)
class StateNotice:
    """One email due: the client's request went from ``old`` to ``new`` (read as ``label``)."""

    key: str
    rev: int
    old: str
    new: str
    label: str
    at: datetime


@dataclass(frozen=True)
class StateVerdict:
    notice: StateNotice | None
    settling: bool  # a change is younger than the merge window: look again later


@dataclass(frozen=True)
class CommentNotice:
    key: str
    comment_id: int
    html: str  # sanitised, marker removed, mentions as names, no DevOps link
    text: str  # the same as plain text (the status page, the text email)
    at: datetime


def state_changes(updates: Iterable[Mapping[str, Any]]) -> list[StateChange]:
    """Every state change of the history, oldest first (the creation sets a state: not one)."""
    found = []
    for update in updates:
        fields = update.get("fields") or {}
        state = fields.get("System.State") or {}
        old, new = state.get("oldValue"), state.get("newValue")
        at = _changed_at(fields)
        if isinstance(old, str) and isinstance(new, str) and old != new and at is not None:
            found.append(StateChange(int(update.get("rev", 0)), at, old, new))
    return sorted(found, key=lambda change: change.rev)


def told_by_intake(changes: Sequence[StateChange], record: RequestRecord) -> set[int]:
    """The revisions of the state changes Intake made and told in its own words: for each
    state its steps recorded, the latest change into that state not after the record."""
    told = set()
    for result in record.steps.values():
        state, at = result.get("state"), result.get("at")
        if not (isinstance(state, str) and isinstance(at, str)):
            continue
        recorded = datetime.fromisoformat(at)
        into = [c for c in changes if c.new == state and c.at <= recorded + OWN_CHANGE_SKEW]
        if into:
            told.add(into[-1].rev)
    return told


def said_revs(work_item_id: int, record: RequestRecord) -> set[int]:
    prefix = f"notify:{work_item_id}:"
    return {int(step[len(prefix) :]) for step in record.steps if step.startswith(prefix)}


def state_verdict(
    work_item_id: int,
    updates: Sequence[Mapping[str, Any]],
    record: RequestRecord,
    policy: NotifyPolicy,
    now: datetime,
) -> StateVerdict:
    """The one state email due now, if any (see the module's docstring)."""
    if not record.is_done(Step.TELL_CLIENT_PLANNING):
        # Intake has not told the client its own words yet (its steps are running, or
        # failed): speaking first could say "being triaged" twice. A failed request waits
        # for its replay; nothing is due meanwhile.
        return StateVerdict(None, settling=record.status != RequestStatus.FAILED)
    changes = state_changes(updates)
    known = said_revs(work_item_id, record) | told_by_intake(changes, record)
    baseline = max((c.rev for c in changes if c.rev in known), default=0)
    pending = [c for c in changes if c.rev > baseline]
    if not pending:
        return StateVerdict(None, settling=False)
    last = pending[-1]
    if now - last.at < policy.merge_window:
        return StateVerdict(None, settling=True)
    old, new = pending[0].old, last.new
    if (
        now - last.at > policy.horizon
        or old.strip().lower() == new.strip().lower()
        or policy.is_silent(old, new)
        or policy.label(old) == policy.label(new)
    ):
        return StateVerdict(None, settling=False)
    key = notify_key(work_item_id, last.rev)
    return StateVerdict(StateNotice(key, last.rev, old, new, policy.label(new), last.at), False)


def latest_comment_rev(updates: Iterable[Mapping[str, Any]]) -> int | None:
    """The latest revision that added a comment (DevOps counts them in System.CommentCount)."""
    revs = [
        int(update.get("rev", 0))
        for update in updates
        if "System.CommentCount" in (update.get("fields") or {})
        or "System.History" in (update.get("fields") or {})
    ]
    return max(revs, default=None)


def needs_discussion(
    work_item_id: int, updates: Sequence[Mapping[str, Any]], record: RequestRecord
) -> int | None:
    """The comment revision to read the discussion up to, or None when every comment up to the
    latest was already looked at (the history says when there is something new)."""
    rev = latest_comment_rev(updates)
    if rev is None or comments_read_key(work_item_id, rev) in record.steps:
        return None
    return rev


def comments_due(
    work_item_id: int,
    comments: Iterable[DiscussionComment],
    record: RequestRecord,
    now: datetime,
    *,
    internal_urls: Sequence[str] = (),
    horizon: timedelta = HORIZON,
) -> list[CommentNotice]:
    """The ``#client`` comments not sent yet, oldest first. Intake's own are skipped."""
    due = []
    for comment in sorted(comments, key=lambda c: c.id):
        key = comment_key(work_item_id, comment.id)
        if comment.by_intake or key in record.steps or now - comment.created_at > horizon:
            continue
        if not is_for_client(comment.html):
            continue
        shown = client_html(comment.html, internal_urls)
        text = plain_text(shown)
        if text:
            due.append(CommentNotice(key, comment.id, shown, text, comment.created_at))
    return due


def is_for_client(comment_html: str) -> bool:
    return CLIENT_MARKER.match(comment_html) is not None


def client_html(comment_html: str, internal_urls: Sequence[str] = ()) -> str:
    """What the client may read of a ``#client`` comment: marker removed, mentions as plain
    names, only simple formatting kept, every link into DevOps (or ``internal_urls``) gone."""
    body = CLIENT_MARKER.sub(lambda found: found.group(1), comment_html, count=1)
    body = MENTION.sub(lambda found: html.escape(html.unescape(found.group(1))), body)

    def is_internal(url: str) -> bool:
        url = html.unescape(url)
        return bool(DEVOPS_HOSTS.match(url)) or any(
            url.lower().startswith(prefix.lower()) for prefix in internal_urls if prefix
        )

    def keep_href(element: str, attribute: str, value: str) -> str | None:
        if element == "a" and attribute == "href" and is_internal(value):
            return None
        return value

    cleaned = nh3.clean(
        body[: MAX_COMMENT_CHARS * 2],
        tags=COMMENT_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"https", "http", "mailto"},
        attribute_filter=keep_href,
        link_rel="noopener noreferrer nofollow",
    )
    # An internal address typed as text is removed too, not only as a link.
    return URL.sub(lambda m: "[link removed]" if is_internal(m.group(0)) else m.group(0), cleaned)


def plain_text(comment_html: str) -> str:
    """The comment as text: line breaks kept, tags dropped, at most ``MAX_COMMENT_CHARS``."""
    spaced = re.sub(r"(?i)<br\s*/?>|</(p|div|li|pre|blockquote)>", "\n", comment_html)
    text = html.unescape(nh3.clean(spaced, tags=set()))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    joined = "\n".join(line for line in lines if line).strip()
    return joined[:MAX_COMMENT_CHARS]


def _changed_at(fields: Mapping[str, Any]) -> datetime | None:
    value = (fields.get("System.ChangedDate") or {}).get("newValue")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
