"""Intake's exceptions: one class per failure kind, each carrying what the HTTP edge needs.

IntakeError                      base; ``status``, ``type`` slug, ``title``
├── InvalidSubmission            400/413/415/422: the body is not an acceptable submission
├── UnknownForm                  422: no field map for the submitted form id
├── RequestNotFound              404: no recorded request with that id
├── InvalidDecision              422: a decision click lacks what it needs (shown on the card)
├── InvalidActivity              400/422: a bot activity that is malformed or not one we handle
├── UnauthenticatedActivity      401: a bot activity without a valid Bot Framework token
├── RequestBusy                  409: another worker holds the request's lease (retry later)
├── ConfigurationError           503: the settings cannot be loaded (details: log and CLI only)
└── ExternalError                a remote system failed
    ├── StaleWorkItem            412: the work item changed since it was read
    ├── Throttled                429: the remote asks us to wait ``retry_after`` seconds
    ├── ExternalUnavailable      5xx, timeout, connection refused: transient, retry later
    └── ExternalRejected         other 4xx from the remote: permanent, needs a person
"""

from __future__ import annotations

from typing import Any


class IntakeError(Exception):
    """Base of every error Intake raises on purpose."""

    status: int = 500
    slug: str = "intake-error"
    title: str = "Intake error"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []

    @property
    def type(self) -> str:
        return f"/problems/{self.slug}"


class InvalidSubmission(IntakeError):
    """Raised when a POST /api/intake body cannot be accepted; ``errors`` names each bad field."""

    status = 422
    slug = "invalid-submission"
    title = "The submission is not valid"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        status: int | None = None,
        slug: str | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__(detail, errors=errors)
        if status is not None:
            self.status = status
        if slug is not None:
            self.slug = slug
        if title is not None:
            self.title = title


class UnknownForm(IntakeError):
    """Raised when a submission's form id has no field map."""

    status = 422
    slug = "unknown-form"
    title = "This form is not connected to Intake"


class RequestNotFound(IntakeError):
    """Raised when a request id is not recorded."""

    status = 404
    slug = "request-not-found"
    title = "No such request"


class InvalidDecision(IntakeError):
    """Raised when a decision click lacks what it needs (a root cause, a bug-or-feature choice);
    the triage use case shows ``detail`` to the scrum master on the card."""

    status = 422
    slug = "invalid-decision"
    title = "The decision is missing something"


class InvalidActivity(IntakeError):
    """Raised by the bot endpoint for a body that is not an activity the Agents SDK's model
    accepts (400), or an activity Intake does not handle, e.g. an unknown verb (422)."""

    status = 400
    slug = "invalid-activity"
    title = "The body is not a valid activity"

    def __init__(self, detail: str, *, status: int | None = None, slug: str | None = None) -> None:
        super().__init__(detail)
        if status is not None:
            self.status = status
        if slug is not None:
            self.slug = slug
        if self.status == 413:
            self.title = "The activity is too large"
        elif self.status == 422:
            self.title = "Intake does not handle this activity"


class UnauthenticatedActivity(IntakeError):
    """Raised when a bot activity has no valid Bot Framework token."""

    status = 401
    slug = "unauthenticated-activity"
    title = "The activity is not authenticated"


class RequestBusy(IntakeError):
    """Raised by the step runner (``intake/step_runner.py``) when another worker holds the
    request's lease: the queue delivers the message again later."""

    status = 409
    slug = "request-busy"
    title = "The request is being worked on"


class ConfigurationError(IntakeError):
    """Raised when the settings cannot be loaded. ``problems`` (also ``str()``) has one line per
    setting, for the log and the CLI; the HTTP answer says only that Intake is not configured."""

    status = 503
    slug = "not-configured"
    title = "Intake is not configured"

    def __init__(self, problems: str) -> None:
        super().__init__("The service's configuration is incomplete; the operator has been told.")
        self.problems = problems

    def __str__(self) -> str:
        return self.problems


class ExternalError(IntakeError):
    """Raised when a remote system fails; ``remote_status`` is its HTTP status, if any."""

    status = 502
    slug = "external-error"
    title = "A connected system failed"
    transient = False

    def __init__(self, detail: str, *, system: str = "", remote_status: int | None = None) -> None:
        super().__init__(detail)
        self.system = system
        self.remote_status = remote_status


class StaleWorkItem(ExternalError):
    """Raised when DevOps answers 412: the work item's revision moved on."""

    status = 409
    slug = "stale-work-item"
    title = "The work item changed meanwhile"
    transient = True


class Throttled(ExternalError):
    """Raised when a remote answers 429 and retries ran out; ``retry_after`` in seconds."""

    status = 503
    slug = "throttled"
    title = "A connected system asks us to slow down"
    transient = True

    def __init__(
        self,
        detail: str,
        *,
        system: str = "",
        retry_after: float = 1.0,
        remote_status: int | None = 429,
    ) -> None:
        super().__init__(detail, system=system, remote_status=remote_status)
        self.retry_after = retry_after


class ExternalUnavailable(ExternalError):
    """Raised on 5xx, timeouts and refused connections: worth retrying later."""

    status = 503
    slug = "external-unavailable"
    title = "A connected system is unavailable"
    transient = True


class ExternalRejected(ExternalError):
    """Raised when a remote refuses the call (4xx other than 412/429): retrying will not help."""

    status = 502
    slug = "external-rejected"
    title = "A connected system refused the call"
    transient = False
