"""The SLA row of ``make bench``: one ``follow_up`` timer run over many open requests.

10,000 (quick: 1,000) open requests are in the local SQLite file with their histories cached,
none due; 20 of their work items changed in DevOps. One timer run must cost one query for what
changed plus one read of each changed item's updates (never a call per open request), and its
time is compared with a baseline measured in the same process: computing one request's
clocks from its cached history, times the number of open requests. The digest run (the slot
that lists every running request, from the cache alone) is timed too.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from intake import bootstrap
from intake.adapters.local_clock import SqliteClock
from intake.config import Settings
from intake.follow_up import run_follow_up
from intake.models import Request, RequestRecord, Step
from intake.sla import IntakeRecords, clocks
from intake.sla_follow_up import Rules

CALENDAR = json.dumps(
    {
        "timezone": "Europe/Paris",
        "week": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": ["2026-12-25", "2027-01-01"],
    }
)
CREATED = datetime(2026, 12, 14, 8, 0, tzinfo=UTC)  # Mon 09:00 Paris
RUN_AT = datetime(2026, 12, 14, 8, 20, tzinfo=UTC)  # 09:20 Paris: before the first digest
DIGEST_AT = datetime(2026, 12, 14, 8, 30, tzinfo=UTC)  # 09:30 Paris: the digest's slot
INTAKE = {"id": "intake-id", "displayName": "Intake", "uniqueName": "intake@contoso.example"}
PERSON = {"id": "p-id", "displayName": "Morgan", "uniqueName": "morgan@contoso.example"}


def history(work_item_id: int, request_id: str, *, touched: bool = False) -> list[dict[str, Any]]:
    """A request's work item as DevOps serves its updates: created New by Intake, moved to
    In Planning, commented by a person (and, when ``touched``, set to High by them)."""

    def update(rev: int, minutes: int, by: dict[str, str], **fields: Any) -> dict[str, Any]:
        at = (CREATED + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")
        return {
            "id": rev,
            "workItemId": work_item_id,
            "rev": rev,
            "revisedBy": by,
            "revisedDate": "9999-01-01T00:00:00Z",
            "fields": {
                "System.Rev": {"newValue": rev},
                "System.ChangedDate": {"newValue": at},
                "System.ChangedBy": {"newValue": by},
                **fields,
            },
        }

    updates = [
        update(
            1,
            0,
            INTAKE,
            **{
                "System.State": {"newValue": "New"},
                "System.Title": {"newValue": f"Request {work_item_id}"},
                "Microsoft.VSTS.Common.Priority": {"newValue": 1},
                "System.Tags": {"newValue": f"intake; intake-{request_id}"},
            },
        ),
        update(2, 1, INTAKE, **{"System.State": {"oldValue": "New", "newValue": "In Planning"}}),
        update(3, 5, PERSON, **{"System.History": {"newValue": "Looking"}}),
    ]
    if touched:
        severity = {"Microsoft.VSTS.Common.Severity": {"newValue": "2 - High"}}
        updates.append(update(4, 15, PERSON, **severity))
    return updates


SPRINT_READS = 2  # current and coming sprints, once per 30 minutes: not per request


class CountingWorkItems:
    """The DevOps port as the timer uses it, in-process, counting every call it makes."""

    def __init__(self, changed: list[int], request_of: dict[int, str]) -> None:
        self.changed, self.request_of = changed, request_of
        self.calls: Counter[str] = Counter()

    def changed_since(self, watermark: datetime) -> list[int]:
        self.calls["wiql changed since"] += 1
        return list(self.changed)

    def updates(self, work_item_id: int) -> list[dict[str, Any]]:
        self.calls["updates"] += 1
        return history(work_item_id, self.request_of[work_item_id], touched=True)

    # The sprints Create PBI offers (issue 15): read by the timer at most every 30 minutes,
    # two calls whatever the number of requests (``intake/iteration_choices.py``).
    def current_iteration(self) -> None:
        self.calls["sprints"] += 1

    def coming_iterations(self) -> list[Any]:
        self.calls["sprints"] += 1
        return []

    def url(self, work_item_id: int) -> str:  # a string, not a call
        return f"https://dev.azure.com/contoso/Intake/_workitems/edit/{work_item_id}"

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            raise AssertionError(f"the timer run called {name}")

        return call


def sla_timer_run(open_requests: int, changed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), calendar=CALENDAR)
        services = bootstrap.build(settings)
        clock = services.clock
        assert isinstance(clock, SqliteClock)
        clock.freeze(CREATED)
        ids = list(range(1, open_requests + 1))
        request_of = {i: f"{i:016x}" for i in ids}
        changed_ids = ids[:: max(1, open_requests // changed)][:changed]
        for work_item_id in changed_ids:  # the changed items' requests (the others: unread)
            request = Request(
                id=request_of[work_item_id],
                form_id="bench",
                response_id=str(work_item_id),
                title=f"Request {work_item_id}",
                severity="Critical",
                client_name="Jordan",
                client_email="jordan@fabrikam.example",
                received_at=CREATED,
            )
            record = RequestRecord(
                request=request,
                steps={Step.CREATE_WORK_ITEM.value: {"work_item_id": work_item_id, "url": ""}},
            )
            services.store.add_request(record)
        cached = {i: history(i, request_of[i]) for i in ids}
        later = (RUN_AT + timedelta(days=1)).isoformat()
        db = services.queue.db  # type: ignore[attr-defined]
        with db.transaction() as tx:
            tx.executemany(
                "INSERT INTO follow_up_items (work_item_id, request_id, updates, next_due_at,"
                " running, summary) VALUES (?, ?, ?, ?, 1, ?)",
                [
                    (
                        i,
                        request_of[i],
                        json.dumps(cached[i]),
                        later,
                        json.dumps({"records": {"severity": "Critical"}}),
                    )
                    for i in ids
                ],
            )
            tx.execute(
                "INSERT INTO follow_up_state (name, value) VALUES ('watermark', ?)",
                ((RUN_AT - timedelta(minutes=5)).isoformat(),),
            )
        board = CountingWorkItems(changed_ids, request_of)
        services = replace(services, work_items=board)  # type: ignore[arg-type]

        # The baseline: one request's clocks from its cached history, times N, in-process.
        rules = Rules.of(settings)
        records = IntakeRecords(severity="Critical")
        cpu = time.process_time()
        wall = time.perf_counter()
        for i in ids:
            clocks(cached[i], records, rules.calendar, rules.policy, RUN_AT)
        baseline_s = time.perf_counter() - wall
        baseline_cpu_s = time.process_time() - cpu

        clock.freeze(RUN_AT)
        wall = time.perf_counter()
        run = run_follow_up(services)
        run_s = time.perf_counter() - wall
        calls = Counter(board.calls)  # this run's; the digest run's below are not counted

        clock.freeze(DIGEST_AT)
        board.changed = []
        wall = time.perf_counter()
        digest = run_follow_up(services)
        digest_s = time.perf_counter() - wall
        posts = [p for p in services.channel.posts() if p["key"].startswith("digest:")]  # type: ignore[attr-defined]
    devops_calls = sum(calls.values())
    return {
        "open_requests": open_requests,
        "changed": changed,
        "refreshed": len(run.refreshed),
        "devops_calls": devops_calls,
        "max_devops_calls": 1 + changed + SPRINT_READS,
        "devops_calls_by_call": dict(calls),
        "run_ms": round(run_s * 1000, 1),
        "baseline_ms": round(baseline_s * 1000, 1),
        "ratio": round(run_s / baseline_s, 3) if baseline_s else None,
        "clocks_cpu_ms": round(baseline_cpu_s * 1000, 1),
        "clocks_cpu_per_10000_ms": round(baseline_cpu_s * 1000 * 10_000 / open_requests, 1),
        "digest_run_ms": round(digest_s * 1000, 1),
        "digest_posts": len(posts),
        "digest_said": digest.said,
        "met": devops_calls <= 1 + changed + SPRINT_READS  # the query, each change, the sprints
        and baseline_cpu_s * 10_000 / open_requests < 1.0
        and len(posts) == 1,
    }
