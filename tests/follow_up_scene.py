"""One request after its intake on the fake ports, for the follow-up timer's unit tests: the
board's history written as DevOps writes it (each change announced as its service hook does),
and the clock in the test's hands."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from intake import follow_up, workflow
from intake.errors import ExternalRejected, ExternalUnavailable, Throttled
from tests.conftest import sample_submission
from tests.fake_follow_ups import FakeFollowUps
from tests.faults.matrix import WorkerCrash

EPOCH = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # Mon; the default calendar: UTC 09-18
CLIENT = "pat.newcomer@fabrikam.example"

# The faults a follow-up's call may meet: kind -> (the error, raised after the call acted?).
# "lost-answer": the remote acted and its answer never came back.
FAULTS = {
    "5xx": (lambda: ExternalUnavailable("503", remote_status=503), False),
    "429": (lambda: Throttled("429", retry_after=7), False),
    "timeout": (lambda: ExternalUnavailable("read timed out"), False),
    "rejected": (lambda: ExternalRejected("400", remote_status=400), False),
    "crash-before": (lambda: WorkerCrash("died"), False),
    "crash-after": (lambda: WorkerCrash("died"), True),
    "lost-answer": (lambda: ExternalUnavailable("read timed out"), True),
}


class RequestAfterIntake:
    """One request (work item 1) after its intake, and the levers of DevOps and time."""

    def __init__(self, world: Any, **settings: Any) -> None:
        self.world = world
        if settings:
            world.settings = world.settings.model_copy(update=settings)
        self.now = EPOCH
        world.clock = lambda: self.now
        self.follow_ups = FakeFollowUps()
        self.history = world.work_items.history.setdefault(1, [])
        submission = sample_submission(client_email=CLIENT, title="Reports page is blank")
        receipt = workflow.submit_request(
            json.dumps(submission).encode(), "application/json", self.services
        )
        workflow.run_steps(receipt.request_id, self.services)
        self.request_id = receipt.request_id
        self.state = "New"
        tags = {"newValue": f"intake; intake-{self.request_id}"}
        self._revise({"System.State": {"newValue": "New"}, "System.Tags": tags})
        self._revise({"System.State": {"oldValue": "New", "newValue": "In Planning"}})
        self.state = "In Planning"
        self.sent_by_intake = len(self.to_client())

    @property
    def services(self) -> Any:
        services = self.world.services
        services.follow_ups = self.follow_ups
        return services

    def _revise(self, fields: dict[str, Any]) -> None:
        stamp = self.now.isoformat().replace("+00:00", "Z")
        rev = len(self.history) + 1
        self.history.append(
            {"rev": rev, "fields": {"System.ChangedDate": {"newValue": stamp}, **fields}}
        )
        self.world.work_items.changed_at[1] = self.now
        follow_up.announce_change(1, self.services)  # the service hook

    def person_moves(self, state: str) -> None:
        self._revise({"System.State": {"oldValue": self.state, "newValue": state}})
        self.state = state

    def to_client(self) -> list[Any]:
        return [e for e in self.world.mailer.sent if e.to == (CLIENT,)]
