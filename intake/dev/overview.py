"""The overview's rows (/dev/): each request with what triage made of it, its severity, its
client and its age, filtered by outcome and searched by text. Pure: records in, rows out.

The outcome is what a person asks first ("what happened to it?"); the run's status (done,
failed) stays beside it, as the flow's own progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from intake.models import DecisionKind, RequestRecord, RequestStatus
from intake.triage_rules import TriageState, TriageStep

# The outcome filter's choices, in the order the page offers them (value, label).
OUTCOMES = (
    ("waiting", "Waiting for triage"),
    ("pbi", "PBI"),
    ("bug", "Bug"),
    ("feature", "Feature"),
    ("closed", "Closed: not our problem"),
    ("failed", "Failed"),
)


@dataclass(frozen=True)
class OverviewRow:
    request_id: str
    title: str
    client_name: str
    client_email: str
    severity: str
    outcome: str  # one of OUTCOMES' values
    outcome_text: str  # "PBI #12, sprint-urgent", "Bug #7", "Closed", "Waiting for triage"
    outcome_work_item_id: int | None  # what the outcome names (the PBI, the Bug ...)
    status: str
    work_item_id: int | None
    age: str
    last_error: str


def outcome_of(record: RequestRecord) -> tuple[str, str, int | None]:
    """(filter value, words, work item named) of a request's triage."""
    state = TriageState(record, [])
    decision, failed = state.decision, record.status is RequestStatus.FAILED
    if decision is None:
        if failed:
            return "failed", "Failed before triage", None
        if record.work_item_id is None:
            return "waiting", "Received", None
        return "waiting", "Waiting for triage", None
    if decision.kind is DecisionKind.NOT_OUR_PROBLEM:
        return "closed", "Closed: not our problem", None
    if decision.kind is DecisionKind.BUG_OR_FEATURE:
        created = state.result(TriageStep.CREATE_BUG_OR_FEATURE)
        label = "Bug" if decision.bug_or_feature == "bug" else "Feature"
        if created is None:
            return label.lower(), f"{label} (being created)", None
        return label.lower(), f"{label} #{created['id']}", int(created["id"])
    pbi = state.result(TriageStep.CREATE_PBI)
    words = f"PBI #{pbi['id']}" if pbi else "PBI (being created)"
    plan = state.plan
    if plan is None:
        words += ", sprint-urgent or not to decide"
    elif plan.kind is DecisionKind.SPRINT_URGENT:
        words += ", sprint-urgent"
    else:
        words += ", during the sprint"
    return "pbi", words, int(pbi["id"]) if pbi else None


def age(since: datetime | None, now: datetime) -> str:
    """How long ago, as a person says it: ``5 min``, ``3 h``, ``2 d``."""
    if since is None:
        return ""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def overview_rows(
    records: list[RequestRecord], now: datetime, *, outcome: str = "", text: str = ""
) -> list[OverviewRow]:
    """The rows, newest first as given, of the chosen ``outcome`` (empty: any) whose title,
    client, severity, request id or work item numbers contain ``text`` (any case)."""
    wanted = " ".join(text.split()).casefold()
    rows = []
    for record in records:
        kind, words, named = outcome_of(record)
        if record.status is RequestStatus.FAILED:
            kind = "failed"
        request = record.request
        row = OverviewRow(
            request_id=request.id,
            title=request.title,
            client_name=request.client_name,
            client_email=str(request.client_email),
            severity=request.severity,
            outcome=kind,
            outcome_text=words,
            outcome_work_item_id=named,
            status=record.status.value,
            work_item_id=record.work_item_id,
            age=age(request.received_at, now),
            last_error=record.last_error,
        )
        if outcome and row.outcome != outcome:
            continue
        if wanted and wanted not in _searchable(row):
            continue
        rows.append(row)
    return rows


def _searchable(row: OverviewRow) -> str:
    numbers = [f"#{n}" for n in (row.work_item_id, row.outcome_work_item_id) if n is not None]
    return " ".join(
        [
            row.request_id,
            row.title,
            row.client_name,
            row.client_email,
            row.severity,
            row.outcome_text,
            *numbers,
        ]
    ).casefold()
