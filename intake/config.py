"""Settings: the one place configuration is read (environment variables prefixed ``INTAKE_``).

Every field has a local-mode default, so ``make dev`` needs no configuration at all. Setting the
credentials of a real system switches that one port to its real adapter (see ``bootstrap.py``).
In Azure the values come from the Function App's app settings (``local.settings.json`` ``Values``
when running ``func start``).
"""

from __future__ import annotations

import functools
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, get_origin

from pydantic import (
    BaseModel,
    EmailStr,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from intake.calendar import BusinessCalendar
from intake.errors import ConfigurationError
from intake.triage_headline import DEFAULT_HEADLINES, HeadlineRule

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Banno's resolution codes, plus the non-responsive cadence's (issue 15).
RESOLUTION_CODES = (
    "Done",
    "Working as Intended",
    "Won't Do",
    "Duplicate",
    "Cannot Reproduce",
    "Opened by Mistake",
    "Configuration Issue",
    "Needs Project to Fix",
    "No response",
)
PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "xxx", "todo", "placeholder"}


class Person(BaseModel):
    """A local demo person: who you can be on the local channel page."""

    name: str
    email: EmailStr
    teams_id: str = Field(pattern=r"^29:")
    aad_object_id: str
    role: Literal["support_staff", "scrum_master", "coordinator", "client"]


DEMO_PEOPLE: list[dict[str, str]] = [
    {
        "name": "Alex Support",
        "email": "alex@contoso.example",
        "teams_id": "29:1-alex-local",
        "aad_object_id": "00000000-0000-0000-0000-00000000a1e5",
        "role": "support_staff",
    },
    {
        "name": "Sam Support",
        "email": "sam@contoso.example",
        "teams_id": "29:1-sam-local",
        "aad_object_id": "00000000-0000-0000-0000-000000005a55",
        "role": "support_staff",
    },
    {
        "name": "Morgan Scrum",
        "email": "morgan@contoso.example",
        "teams_id": "29:1-morgan-local",
        "aad_object_id": "00000000-0000-0000-0000-00000000306a",
        "role": "scrum_master",
    },
    {
        "name": "Casey Coordinator",
        "email": "casey@contoso.example",
        "teams_id": "29:1-casey-local",
        "aad_object_id": "00000000-0000-0000-0000-00000000ca5e",
        "role": "coordinator",
    },
    {
        # The sample form's client: a DevOps user here, so the demo shows a real @mention.
        # A client without a DevOps identity gets the same words by email instead.
        "name": "Jordan Rivera",
        "email": "jordan.rivera@fabrikam.example",
        "teams_id": "29:1-jordan-local",
        "aad_object_id": "00000000-0000-0000-0000-000000000d40",
        "role": "client",
    },
]


class Settings(BaseSettings):
    """All of Intake's configuration. Field names map to ``INTAKE_<NAME>`` variables."""

    # enable_decoding=False: list and object settings are decoded by ``_decode_structured``
    # (a plain comma-separated list accepted, a clear line for what is not JSON) instead of
    # pydantic-settings' json.loads, whose error is a traceback naming no shape.
    model_config = SettingsConfigDict(
        env_prefix="INTAKE_", extra="ignore", frozen=True, enable_decoding=False
    )

    # --- local mode -------------------------------------------------------------------------
    data_dir: Path = Field(Path(".intake"), description="Folder of the local SQLite file.")
    port: int = Field(7071, ge=1, le=65535, description="Port of the local host.")
    host: str = Field("127.0.0.1", description="Interface the local host listens on.")
    public_base_url: str = Field(
        "", description="Base URL people reach the app at (status links); default: local host."
    )
    people: list[Person] = Field(
        default_factory=lambda: [Person.model_validate(p) for p in DEMO_PEOPLE],
        description="Local demo people (JSON list): name, email, teams_id, aad_object_id, role.",
    )

    # --- the form ---------------------------------------------------------------------------
    field_map_path: Path = Field(
        PROJECT_ROOT / "forms" / "field-map.json",
        description="JSON file mapping each form's question ids to request fields.",
    )
    max_body_bytes: int = Field(
        262_144, ge=1024, description="Largest accepted POST /api/intake body."
    )

    # --- the work item ----------------------------------------------------------------------
    work_item_type: str = Field("Issue", description="Type of the request's work item.")
    area_path: str = Field("", description="Area path of new work items (empty: project default).")
    iteration_path: str = Field("", description="Iteration of new work items (empty: default).")
    state_new: str = Field("New", description="State a new work item is created in.")
    state_planning: str = Field("In Planning", description="State after the @client comment.")
    state_closed: str = Field("Closed", description="State for 'Not our problem'.")
    tags: list[str] = Field(
        ["intake"],
        description="Tags on every request's work item (JSON list, or comma-separated).",
    )
    severity_priority: dict[str, int] = Field(
        {"Critical": 1, "High": 2, "Medium": 3, "Low": 4},
        description="Severity answer -> DevOps priority (JSON object).",
    )
    client_email_field: str = Field(
        "Custom.ClientEmail", description="Work item field that holds the client's email."
    )
    dev_area_path: str = Field(
        "",
        description="Area path of the development backlog: where PBIs, Bugs and Features "
        "from triage go (empty: project default).",
    )
    pbi_type: str = Field("Product Backlog Item", description="Type created by 'Create PBI'.")
    task_type: str = Field("Task", description="Type of the PBI's optional Tasks.")
    bug_type: str = Field("Bug", description="Type created for 'Bug'.")
    feature_type: str = Field("Feature", description="Type created for 'Feature request'.")
    sprint_urgent_tag: str = Field("sprint-urgent", description="Tag of sprint-urgent PBIs.")

    # --- people -----------------------------------------------------------------------------
    coordinator_name: str = Field("Casey Coordinator", description="The intake coordinator.")
    coordinator_email: EmailStr = Field(
        "casey@contoso.example", description="Where 'new request' emails go."
    )
    scrum_masters: list[str] = Field(
        ["00000000-0000-0000-0000-00000000306a"],
        description="Scrum masters: Entra object ids or emails (JSON list, or comma-separated).",
    )
    scrum_master_group_id: str = Field(
        "", description="Optional Entra group whose members are scrum masters (checked by Graph)."
    )

    # --- Azure DevOps -----------------------------------------------------------------------
    devops_org_url: str = Field(
        "", description="e.g. https://dev.azure.com/contoso (empty: local)."
    )
    devops_project: str = Field("", description="DevOps project of the requests.")
    devops_team: str = Field("", description="Team whose current iteration takes urgent PBIs.")
    devops_pat: SecretStr = Field(SecretStr(""), description="PAT (Work Items Read & Write).")
    devops_tenant_id: str = Field("", description="Tenant of the DevOps service principal.")
    devops_client_id: str = Field("", description="Service principal app id (instead of a PAT).")
    devops_client_secret: SecretStr = Field(SecretStr(""), description="Its client secret.")

    # --- Microsoft Graph mail ---------------------------------------------------------------
    mail_sender: EmailStr = Field(
        "intake@contoso.example", description="Mailbox emails are sent from."
    )
    graph_tenant_id: str = Field("", description="Tenant of the Graph app (empty: local outbox).")
    graph_client_id: str = Field("", description="App id with Mail.Send (application).")
    graph_client_secret: SecretStr = Field(SecretStr(""), description="Its client secret.")
    graph_endpoint: str = Field("https://graph.microsoft.com", description="Graph base URL.")
    login_authority: str = Field(
        "https://login.microsoftonline.com", description="Entra login host (national clouds)."
    )

    # --- Teams bot --------------------------------------------------------------------------
    bot_app_id: str = Field("", description="Azure Bot app id (empty: local channel, no auth).")
    bot_app_secret: SecretStr = Field(SecretStr(""), description="Bot app client secret.")
    bot_tenant_id: str = Field("", description="Tenant of the single-tenant bot.")
    bot_openid_metadata_url: str = Field(
        "https://login.botframework.com/v1/.well-known/openidconfiguration",
        description="OpenID metadata for inbound Bot Framework tokens.",
    )
    teams_service_url: str = Field(
        "https://smba.trafficmanager.net/teams/", description="Bot connector service URL."
    )
    teams_channel_id: str = Field("", description="Support channel id (19:...@thread.tacv2).")
    bot_token_scope: str = Field(
        "https://api.botframework.com/.default",
        description="Bot Connector token scope (US Gov: https://api.botframework.us/.default).",
    )

    # --- storage ----------------------------------------------------------------------------
    storage_connection_string: SecretStr = Field(
        SecretStr(""), description="Azure Storage connection string (empty: local SQLite)."
    )
    storage_account_name: str = Field(
        "", description="Storage account for identity-based access (instead of a string)."
    )
    steps_queue: str = Field("intake-steps", description="Queue of request steps.")
    table_name: str = Field("intake", description="Table of recorded requests.")

    # --- follow-ups: the DevOps service hook and the follow_up timer (issue 13) -------------
    devops_hook_secret: SecretStr = Field(
        SecretStr(""),
        description="Shared secret DevOps service hooks send as the basic-auth password of "
        "POST /api/devops/hooks (empty: the hook is refused; the sweep still finds changes).",
    )

    # --- telemetry --------------------------------------------------------------------------
    applicationinsights_connection_string: SecretStr = Field(
        SecretStr(""), description="Turns on OpenTelemetry export to Application Insights."
    )

    # --- the client's side: status links and replies by email ------------------------------
    status_secret: SecretStr = Field(
        SecretStr(""),
        description="Key that signs status links (HMAC-SHA256, 32+ characters; empty: made "
        "once in the data folder, local mode only).",
    )
    status_previous_secret: SecretStr = Field(
        SecretStr(""),
        description="The key before the last rotation: links it signed still open until "
        "INTAKE_STATUS_PREVIOUS_SECRET_UNTIL.",
    )
    status_previous_secret_until: datetime | None = Field(
        None, description="End of the previous key's grace period (ISO 8601 with offset)."
    )
    status_ttl_days: int = Field(
        180, ge=1, le=3650, description="Days a status link opens the page after it is sent."
    )
    client_state_labels: dict[str, str] = Field(
        {},
        description="Work item state -> what the client reads on the status page (JSON "
        "object); added to the defaults (In Planning: Being triaged, On Hold: Waiting for "
        "information, Closed: Closed ...).",
    )
    reopen_days: int = Field(
        10, ge=0, description="Days after closing in which a client's reply reopens a request."
    )

    # --- telling the client: an email on each change, #client comments (issue 14) ----------
    client_notify_merge_minutes: float = Field(
        5.0,
        ge=0,
        le=1440,
        description="State changes less than this many minutes apart reach the client as one "
        "email (the last state wins; nothing if it ends where it started).",
    )
    client_silent_transitions: list[tuple[str, str]] = Field(
        [],
        description="State changes never emailed to the client (JSON list of [from, to] "
        'pairs; "*" matches any state), e.g. [["Active", "Resolved"], ["*", "Removed"]].',
    )
    devops_identity: str = Field(
        "",
        description="Email (unique name) or id of the identity Intake acts as in DevOps (the "
        "PAT's owner or the service principal): its #client comments are never emailed "
        "again, Intake sends those emails itself.",
    )
    show_sla_to_client: bool = Field(
        False, description="Show the request's SLA due date on the client's status page."
    )

    # --- the DevOps trail (issue 12: the work item tells the whole story) --------------------
    request_id_field: str = Field(
        "Custom.IntakeRequestId",
        pattern=r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$",  # a reference name, safe in WIQL
        description="Work item field that holds the request id (the request's item) or the "
        "request id and what it is (<id>/pbi, <id>/task-N, <id>/bug): how a retry finds an item "
        "it created, instead of a tag per request. Must exist in every type Intake creates.",
    )
    state_after_proceed: str = Field(
        "", description="State of the request's work item after 'Proceed' (empty: unchanged)."
    )
    state_after_bug_or_feature: str = Field(
        "",
        description="State of the request's work item after 'Bug / Feature request' "
        "(empty: unchanged).",
    )

    # --- derived ----------------------------------------------------------------------------
    @property
    def database_path(self) -> Path:
        return self.data_dir / "intake.db"

    @property
    def base_url(self) -> str:
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def uses_devops(self) -> bool:
        return bool(self.devops_org_url)

    @property
    def uses_graph(self) -> bool:
        return bool(self.graph_tenant_id or self.graph_client_id)

    @property
    def uses_bot(self) -> bool:
        return bool(self.bot_app_id)

    @property
    def uses_azure_storage(self) -> bool:
        return bool(self.storage_connection_string.get_secret_value() or self.storage_account_name)

    @property
    def is_local(self) -> bool:
        """True when every port runs on its local adapter."""
        return not (self.uses_devops or self.uses_graph or self.uses_bot or self.uses_azure_storage)

    @model_validator(mode="after")
    def _credentials_are_complete(self) -> Settings:
        problems: list[str] = []

        def need(condition: bool, message: str) -> None:
            if not condition:
                problems.append(message)

        # A credential without the system it is for is a half-made configuration, not local
        # mode: name what is missing instead of silently ignoring it.
        for name in ("devops_project", "devops_pat", "devops_client_id", "devops_tenant_id"):
            if not self.uses_devops and _is_set(getattr(self, name)):
                problems.append(
                    f"INTAKE_DEVOPS_ORG_URL is required when INTAKE_{name.upper()} is set"
                )
        if not self.uses_devops and _is_set(self.devops_client_secret):
            problems.append(
                "INTAKE_DEVOPS_ORG_URL is required when INTAKE_DEVOPS_CLIENT_SECRET is set"
            )
        if self.uses_devops:
            need(
                self.devops_org_url.startswith(("https://", "http://")),
                "INTAKE_DEVOPS_ORG_URL must be a URL like https://dev.azure.com/<organisation>",
            )
            need(
                not (self.devops_pat.get_secret_value() and self.devops_client_id),
                "set either INTAKE_DEVOPS_PAT or INTAKE_DEVOPS_CLIENT_ID (a service principal), "
                "not both",
            )
            need(
                bool(self.devops_project),
                "INTAKE_DEVOPS_PROJECT is required when INTAKE_DEVOPS_ORG_URL is set",
            )
            has_pat = bool(self.devops_pat.get_secret_value())
            has_sp = bool(self.devops_client_id)
            need(
                has_pat or has_sp,
                "INTAKE_DEVOPS_PAT or INTAKE_DEVOPS_CLIENT_ID is required "
                "when INTAKE_DEVOPS_ORG_URL is set",
            )
            if has_sp:
                need(
                    bool(self.devops_tenant_id),
                    "INTAKE_DEVOPS_TENANT_ID is required when INTAKE_DEVOPS_CLIENT_ID is set",
                )
                need(
                    bool(self.devops_client_secret.get_secret_value()),
                    "INTAKE_DEVOPS_CLIENT_SECRET is required when INTAKE_DEVOPS_CLIENT_ID is set",
                )
        if not self.uses_graph and _is_set(self.graph_client_secret):
            problems.append(
                "INTAKE_GRAPH_TENANT_ID and INTAKE_GRAPH_CLIENT_ID are required when "
                "INTAKE_GRAPH_CLIENT_SECRET is set"
            )
        if not self.uses_bot:
            for name in ("bot_app_secret", "bot_tenant_id", "teams_channel_id"):
                if _is_set(getattr(self, name)):
                    problems.append(
                        f"INTAKE_BOT_APP_ID is required when INTAKE_{name.upper()} is set"
                    )
        if self.uses_graph:
            need(
                bool(self.graph_tenant_id),
                "INTAKE_GRAPH_TENANT_ID is required when INTAKE_GRAPH_CLIENT_ID is set",
            )
            need(
                bool(self.graph_client_id),
                "INTAKE_GRAPH_CLIENT_ID is required when INTAKE_GRAPH_TENANT_ID is set",
            )
            need(
                bool(self.graph_client_secret.get_secret_value()),
                "INTAKE_GRAPH_CLIENT_SECRET is required when INTAKE_GRAPH_CLIENT_ID is set",
            )
        if self.uses_bot:
            need(
                bool(self.bot_app_secret.get_secret_value()),
                "INTAKE_BOT_APP_SECRET is required when INTAKE_BOT_APP_ID is set",
            )
            need(
                bool(self.bot_tenant_id),
                "INTAKE_BOT_TENANT_ID is required when INTAKE_BOT_APP_ID is set",
            )
            need(
                bool(self.teams_channel_id),
                "INTAKE_TEAMS_CHANNEL_ID is required when INTAKE_BOT_APP_ID is set",
            )
            # With a real bot, the group is asked of Entra ID through the Graph app.
            need(
                not self.scrum_master_group_id or self.uses_graph,
                "INTAKE_GRAPH_TENANT_ID and INTAKE_GRAPH_CLIENT_ID are required when "
                "INTAKE_SCRUM_MASTER_GROUP_ID is set with INTAKE_BOT_APP_ID",
            )
        if (self.uses_devops and self.devops_client_id) or self.uses_graph:
            need(
                self.login_authority.startswith("https://"),
                "INTAKE_LOGIN_AUTHORITY must be an https URL (msal refuses others)",
            )
        problems.extend(self._status_key_problems())
        for name in (
            "devops_pat",
            "devops_client_secret",
            "graph_client_secret",
            "bot_app_secret",
            "devops_hook_secret",
        ):
            value: SecretStr = getattr(self, name)
            if value.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
                problems.append(f"INTAKE_{name.upper()} is a placeholder: set the real secret")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="before")
    @classmethod
    def _decode_structured(cls, data: Any) -> Any:
        """Environment text of the list and object settings: JSON, or for a list of strings
        a plain comma-separated list (``INTAKE_TAGS=intake,support``). What cannot be read
        is one line naming the setting and the shape it needs."""
        if not isinstance(data, dict):
            return data
        problems = []
        decoded = dict(data)
        for name, value in data.items():
            field = cls.model_fields.get(name)
            if field is None or not isinstance(value, str):
                continue
            kind = get_origin(field.annotation)
            if kind not in (list, dict):
                continue
            try:
                decoded[name] = _decode_setting(value, field.annotation)
            except ValueError:
                problems.append(
                    f"INTAKE_{name.upper()} is not {_shape(field.annotation)}: "
                    # "; " separates the problems of one error (describe_validation_error)
                    f"{(field.description or '').replace('; ', ', ')}".rstrip(": ")
                )
        if problems:
            raise ValueError("; ".join(problems))
        return decoded

    @field_validator("status_previous_secret_until", mode="before")
    @classmethod
    def _empty_is_no_date(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    # --- the triage card's headline (issue 12, item 2) --------------------------------------
    # Decoded here, not by pydantic-settings: an empty value (Bicep always sets it) is the
    # default wording, and bad JSON is named like any other invalid value.
    headlines: Annotated[tuple[HeadlineRule, ...], NoDecode] = Field(
        DEFAULT_HEADLINES,
        description="The triage card's headline per request type and severity (JSON list of "
        '{"request_types": [...], "severities": [...], "text": "..."}; the first rule that '
        "matches wins, an empty list matches any; text may name {number}, {request_type}, "
        "{severity}, {environment}). Default: the urgent sentence for Production Support at "
        "Critical/High only.",
    )

    @field_validator("headlines", mode="before")
    @classmethod
    def _headlines_from_json(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if not value.strip():
            return DEFAULT_HEADLINES
        try:
            return json.loads(value)
        except ValueError:
            raise ValueError("must be a JSON list of headline rules (docs/triage.md)") from None

    def _status_key_problems(self) -> list[str]:
        """A status key must be long; a previous key needs the end of its grace period (else
        a rotated-out key would open pages for ever), and that end needs a previous key."""
        problems = []
        current = self.status_secret.get_secret_value()
        previous = self.status_previous_secret.get_secret_value()
        if current and len(current) < 32:
            problems.append("INTAKE_STATUS_SECRET must be at least 32 characters")
        if previous and not current:
            problems.append(
                "INTAKE_STATUS_SECRET is required when INTAKE_STATUS_PREVIOUS_SECRET is set"
            )
        if previous and self.status_previous_secret_until is None:
            problems.append(
                "INTAKE_STATUS_PREVIOUS_SECRET_UNTIL is required when "
                "INTAKE_STATUS_PREVIOUS_SECRET is set"
            )
        if self.status_previous_secret_until is not None:
            if not previous:
                problems.append(
                    "INTAKE_STATUS_PREVIOUS_SECRET is required when "
                    "INTAKE_STATUS_PREVIOUS_SECRET_UNTIL is set"
                )
            if self.status_previous_secret_until.tzinfo is None:
                problems.append("INTAKE_STATUS_PREVIOUS_SECRET_UNTIL needs a UTC offset")
        for name, value in (("status_secret", current), ("status_previous_secret", previous)):
            if value.strip().lower() in PLACEHOLDER_SECRETS:
                problems.append(f"INTAKE_{name.upper()} is a placeholder: set the real secret")
        return problems

    # --- the SLA clock: business calendar, targets, reminders, digest (issue 13) -----------
    calendar: str = Field(
        "",
        description='Business calendar (JSON): {"timezone": "Europe/Paris", "week": {"mon": '
        '[["09:00","18:00"]], ...}, "holidays": ["2026-12-25"]}; empty: UTC, Mon-Fri '
        "09:00-18:00, no holidays.",
    )
    sla_targets: dict[str, float | None] = Field(
        {"Critical": 2, "High": 3, "Medium": 10, "Low": None},
        description="Triage SLA by severity in business days (JSON object; null: no SLA).",
    )
    sla_running_states: list[str] = Field(
        ["New", "In Planning"], description="States in which the SLA clock runs (JSON list)."
    )
    sla_reset_states: list[str] = Field(
        ["New"], description="Entering one of these ends the cycle and starts a new one."
    )
    sla_pause_states: list[str] = Field(
        [], description="States that freeze the SLA clock until the item leaves them."
    )
    sla_severity_field: str = Field(
        "Microsoft.VSTS.Common.Severity",
        description="Work item field of the severity (else the priority, else the form's).",
    )
    first_response_targets: dict[str, float | None] = Field(
        {"*": 8},
        description='First response by severity in business hours (JSON object; "*": '
        "every other severity; null: none).",
    )
    sla_warn_at: float = Field(
        0.75, gt=0, lt=1, description="Share of the target at which the at-risk reminder goes."
    )
    escalation_emails: list[EmailStr] = Field(
        [], description="Managers emailed one business day after a breach (JSON list)."
    )
    sla_digest_times: list[str] = Field(
        ["09:30", "13:30", "17:00"],
        description="Local times (calendar's zone) of the channel digest on business days.",
    )
    max_reminders_per_day: int = Field(
        3, ge=1, description="Most SLA messages per request per business day."
    )
    sla_due_field: str = Field(
        "", description="Optional date-time field the SLA due date is written to (Custom.SLADue)."
    )

    @field_validator("calendar")
    @classmethod
    def _calendar_parses(cls, value: str) -> str:
        if value.strip():
            BusinessCalendar.from_json(value)  # a CalendarError is a ValueError: one line
        return value

    @field_validator("sla_digest_times")
    @classmethod
    def _digest_times_are_times(cls, value: list[str]) -> list[str]:
        for text in value:
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text):
                raise ValueError(f"{text!r} is not a local time like 09:30")
        return value

    @field_validator("sla_targets", "first_response_targets")
    @classmethod
    def _targets_are_positive(cls, value: dict[str, float | None]) -> dict[str, float | None]:
        for severity, target in value.items():
            if target is not None and target <= 0:
                raise ValueError(f"the target of {severity!r} must be positive or null")
        return value

    @property
    def business_calendar(self) -> BusinessCalendar:
        """The parsed ``INTAKE_CALENDAR`` (checked at start-up by the validator above)."""
        if not self.calendar.strip():
            return BusinessCalendar.default()
        return _parsed_calendar(self.calendar)

    # --- the Graph token scope (issue 11, item 15) -------------------------------------------
    graph_token_scope: str = Field(
        "",
        description="Scope of the Graph app's token (empty: <INTAKE_GRAPH_ENDPOINT>/.default; "
        "set it when Graph is reached through another URL than its audience, e.g. a proxy).",
    )

    @property
    def graph_scope(self) -> str:
        return self.graph_token_scope.strip() or f"{self.graph_endpoint.rstrip('/')}/.default"

    # --- an open form: emails to a typed address, per hour (issue 11, item 9) ----------------
    confirmations_per_address_per_hour: int = Field(
        5,
        ge=0,
        description="Requests per hour whose client emails go to one typed address, when the "
        "form does not sign responders in (over it: recorded and created, client not emailed).",
    )
    confirmations_per_form_per_hour: int = Field(
        100,
        ge=0,
        description="Requests per hour of one open form whose client emails are sent (over "
        "it: recorded and created, client not emailed).",
    )

    # --- replies by email: the sender mailbox's Inbox read by the follow_up timer (issue 14)
    reply_attachment_max_bytes: int = Field(
        10 * 1024 * 1024,
        ge=0,
        le=60 * 1024 * 1024,
        description="Largest file of a client's reply attached to the work item (bytes); a "
        "larger one is named in the comment and not copied.",
    )
    read_inbox: bool = Field(
        True, description="Whether the follow_up timer reads clients' replies from the Inbox."
    )

    # --- On Hold relaunches and the weekly update (issue 15) --------------------------------
    state_on_hold: str = Field(
        "On Hold",
        description="State of a request waiting for something from the client (Talend): "
        "relaunched every INTAKE_ON_HOLD_RELAUNCH_DAYS, never closed.",
    )
    on_hold_relaunch_days: int = Field(
        21,
        ge=1,
        le=365,
        description="Calendar days (local wall clock) On Hold before each relaunch.",
    )
    max_relaunches: int = Field(
        3,
        ge=0,
        le=100,
        description="Relaunches that ask the client; later ones tell the coordinator only.",
    )
    weekly_update: Literal["email", "remind", "off"] = Field(
        "email",
        description="7 days after the client's last message from us: email them a short "
        "update (email), ask the coordinator in the triage thread to write one (remind), or "
        "nothing (off).",
    )

    # --- asking the client and the non-responsive cadence (issue 15) -------------------------
    state_waiting_client: str = Field(
        "Waiting on Client",
        description="State of a request waiting for the client's answer (Ask the client); "
        "the no-response cadence runs while the request is in it.",
    )
    cadence_days: list[int] = Field(
        [5, 9, 10],
        description="Business days of the no-response cadence, Day 1 being the day the wait "
        "started (JSON list): a second request, the last one, then closed for no response.",
    )

    @field_validator("cadence_days")
    @classmethod
    def _cadence_days_increase(cls, value: list[int]) -> list[int]:
        if not value or any(day < 1 for day in value) or value != sorted(set(value)):
            raise ValueError("a JSON list of increasing business days from 1, like [5, 9, 10]")
        return value

    # --- closing the loop: resolution codes, fix version, done -> close (issue 15) ----------
    resolution_field: str = Field(
        "Microsoft.VSTS.Common.ResolvedReason",
        pattern=r"^$|^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$",
        description="Field of the request's work item every close writes its resolution to "
        "(and reopening clears); empty: not written.",
    )
    resolution_codes: list[str] = Field(
        list(RESOLUTION_CODES),
        min_length=1,
        description="The resolutions a close can give (JSON list or comma-separated); the "
        "first of Not our problem's choices shown is Won't Do when listed.",
    )
    auto_close_on_done: bool = Field(
        False,
        description="Close the request (resolution Done) and tell the client as soon as the "
        "PBI/Bug/Feature made from it is done, without asking in the triage thread.",
    )


@functools.lru_cache(maxsize=8)
def _parsed_calendar(text: str) -> BusinessCalendar:
    return BusinessCalendar.from_json(text)


def _is_set(value: str | SecretStr) -> bool:
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    return bool(text.strip())


def _decode_setting(text: str, annotation: Any) -> Any:
    """A list or object setting from its environment text (raises ValueError)."""
    stripped = text.strip()
    if stripped.startswith(("[", "{")) or annotation not in (list[str],):
        decoded = json.loads(stripped)  # json.JSONDecodeError is a ValueError
        if not isinstance(decoded, get_origin(annotation) or object):
            raise ValueError("not the right JSON type")
        return decoded
    return [item.strip() for item in stripped.split(",") if item.strip()]


def _shape(annotation: Any) -> str:
    if annotation == list[str]:
        return 'a JSON list of strings or a comma-separated list (a,b or ["a", "b"])'
    if get_origin(annotation) is list:
        return "a JSON list ([{...}, ...])"
    return 'a JSON object ({"key": value, ...})'


def load_settings(**overrides: Any) -> Settings:
    """Read Settings from the environment; turn pydantic's errors into one line per setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(describe_validation_error(exc)) from None
    except SettingsError as exc:  # a source could not be read at all: name the setting
        found = re.search(r'field "(\w+)"', str(exc))
        name = f"INTAKE_{found.group(1).upper()}" if found else "a setting"
        raise ConfigurationError(f"{name} cannot be read: {exc}") from None


def describe_validation_error(exc: ValidationError) -> str:
    lines: list[str] = []
    for error in exc.errors():
        location = "_".join(str(part) for part in error["loc"] if not isinstance(part, int))
        if error["type"] == "value_error" and not location:
            lines.extend(str(error["ctx"]["error"]).split("; "))
            continue
        name = f"INTAKE_{location.upper()}" if location else "settings"
        lines.append(f"{name}: {error['msg']}")
    return "\n".join(lines)


def load_field_map(path: Path) -> dict[str, Any]:
    """The forms' field maps, keyed by form id (see forms/field-map.json)."""
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data
