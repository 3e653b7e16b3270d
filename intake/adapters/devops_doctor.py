"""``intake doctor`` for Azure DevOps: read-only calls that show what is wrong, and the fix."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from intake.adapters.devops import DevOpsWorkItems
from intake.adapters.devops_client import SYSTEM, sdk_call
from intake.adapters.retry import with_retries
from intake.config import Settings
from intake.doctor import Check

NAME = "DevOps"


def doctor_checks(settings: Settings) -> list[Check]:
    work_items = DevOpsWorkItems(settings)
    clients = work_items.clients
    project, org = settings.devops_project, clients.org_url

    @cache
    def types() -> dict[str, Any]:
        wit = clients.wit()
        found = with_retries(
            lambda: sdk_call(lambda: wit.get_work_item_types(project)), system=SYSTEM
        )
        return {t.name: t for t in found or []}

    def token() -> str:
        assert clients.entra is not None
        clients.entra.token()
        return f"app {settings.devops_client_id}"

    def organisation() -> str:
        return f"{len(clients.resource_areas())} resource areas"

    def project_exists() -> str:
        return f"{len(types())} work item types"

    configured_types = dict.fromkeys(
        [
            settings.work_item_type,
            settings.pbi_type,
            settings.task_type,
            settings.bug_type,
            settings.feature_type,
        ]
    )

    def types_exist() -> str:
        missing = [name for name in configured_types if name not in types()]
        if missing:
            raise LookupError(
                f"missing: {', '.join(missing)}; the project has: {', '.join(sorted(types()))}"
            )
        return ", ".join(configured_types)

    wanted_states = dict.fromkeys(
        state
        for state in (
            settings.state_new,
            settings.state_planning,
            settings.state_closed,
            # the DevOps trail: the request's state after a decision (empty: unchanged)
            settings.state_after_proceed,
            settings.state_after_bug_or_feature,
        )
        if state
    )

    @cache
    def states() -> list[str]:
        """The states of the type Intake creates requests as, in the process's order."""
        wit = clients.wit()
        found = with_retries(
            lambda: sdk_call(
                lambda: wit.get_work_item_type_states(project, settings.work_item_type)
            ),
            system=SYSTEM,
        )
        return [s.name for s in found or []]

    def states_exist(wanted: dict[str, None]) -> Callable[[], str]:
        """A check that the type has each of the ``wanted`` states."""

        def check() -> str:
            names = states()
            missing = [state for state in wanted if state not in names]
            if missing:
                raise LookupError(f"missing: {', '.join(missing)}; it has: {', '.join(names)}")
            return ", ".join(wanted)

        return check

    @cache
    def fields_of(work_item_type: str) -> frozenset[str]:
        wit = clients.wit()
        found = with_retries(
            lambda: sdk_call(
                lambda: wit.get_work_item_type_fields_with_references(project, work_item_type)
            ),
            system=SYSTEM,
        )
        return frozenset(f.reference_name for f in found or [])

    def field_exists(field: str) -> Callable[[], str]:
        """A check that the request's type has ``field`` (a field Intake writes on it)."""

        def check() -> str:
            if field not in fields_of(settings.work_item_type):
                raise LookupError(f"{field} is not a field of {settings.work_item_type!r}")
            return field

        return check

    def request_id_field_exists() -> str:
        """Every type Intake creates holds the request id field: a retry after a lost create
        finds the item by it, and a create with a field the type lacks is refused."""
        field = settings.request_id_field
        missing = [name for name in configured_types if field not in fields_of(name)]
        if missing:
            raise LookupError(f"{field} is not a field of {', '.join(map(repr, missing))}")
        return field

    def identity_lookup() -> str:
        email = str(settings.coordinator_email)
        found = work_items.find_identity(email)
        return f"{email} is {found.display_name}" if found else f"{email} has no identity"

    def iteration() -> str:
        current = work_items.current_iteration()
        return f"{current.name} ({current.path})" if current else "no sprint is current"

    # --- the SLA clock (issue 13): the states it names, the optional due field ------------
    sla_states = dict.fromkeys(
        [*settings.sla_running_states, *settings.sla_reset_states, *settings.sla_pause_states]
    )

    sla_checks = [
        Check(
            NAME,
            f"SLA states exist in {settings.work_item_type!r}",
            states_exist(sla_states),
            "set INTAKE_SLA_RUNNING_STATES, INTAKE_SLA_RESET_STATES and "
            "INTAKE_SLA_PAUSE_STATES to states of that type",
        )
    ]
    if settings.sla_due_field:
        sla_checks.append(
            Check(
                NAME,
                f"SLA due field exists in {settings.work_item_type!r}",
                field_exists(settings.sla_due_field),
                "add a Date/Time field to the type (Organization settings > Process), or set "
                "INTAKE_SLA_DUE_FIELD to one it has, or to empty",
            )
        )

    # --- On Hold relaunches (issue 15): the state the relaunch clock reads ----------------
    follow_checks = [
        Check(
            NAME,
            f"On Hold state exists in {settings.work_item_type!r}",
            states_exist({settings.state_on_hold: None}),
            "set INTAKE_STATE_ON_HOLD to the state of that type in which a request waits for "
            "the client (Organization settings > Process), or add the state",
        )
    ]

    checks: list[Check] = []
    if clients.entra is not None:
        checks.append(
            Check(
                NAME,
                "token acquired for the service principal",
                token,
                "check INTAKE_DEVOPS_TENANT_ID, INTAKE_DEVOPS_CLIENT_ID and its secret "
                f"(and INTAKE_LOGIN_AUTHORITY={settings.login_authority})",
            )
        )
    checks += [
        Check(
            NAME,
            f"organisation {org} reachable",
            organisation,
            "set INTAKE_DEVOPS_ORG_URL to https://dev.azure.com/<organisation>; a 401 or a "
            "sign-in page means the PAT or service principal is not valid there",
        ),
        Check(
            NAME,
            f"project {project!r} exists",
            project_exists,
            "set INTAKE_DEVOPS_PROJECT to a project of the organisation; give the PAT the "
            "Work Items (Read & Write) scope, or add the service principal to the project",
        ),
        Check(
            NAME,
            "work item types exist",
            types_exist,
            "set INTAKE_WORK_ITEM_TYPE, INTAKE_PBI_TYPE, INTAKE_TASK_TYPE, INTAKE_BUG_TYPE and "
            "INTAKE_FEATURE_TYPE to types of the project's process",
        ),
        Check(
            NAME,
            f"states exist in {settings.work_item_type!r}",
            states_exist(wanted_states),
            "set INTAKE_STATE_NEW, INTAKE_STATE_PLANNING, INTAKE_STATE_CLOSED, "
            "INTAKE_STATE_AFTER_PROCEED and INTAKE_STATE_AFTER_BUG_OR_FEATURE (empty: "
            "unchanged) to states of that type (Organization settings > Process), or add "
            "the states",
        ),
        *(
            [
                Check(
                    NAME,
                    f"client email field exists in {settings.work_item_type!r}",
                    field_exists(settings.client_email_field),
                    "add the field to the type (Organization settings > Process > the type > "
                    "New field), or set INTAKE_CLIENT_EMAIL_FIELD to one it has, or to empty "
                    "to keep the email in the description only",
                )
            ]
            if settings.client_email_field
            else []
        ),
        Check(
            NAME,
            "request id field exists in every type Intake creates",
            request_id_field_exists,
            f"add a text field {settings.request_id_field} to each of those types "
            "(Organization settings > Process > the type > New field; one field, shared), "
            "or set INTAKE_REQUEST_ID_FIELD to a text field they all have",
        ),
        Check(
            NAME,
            "identity lookup works",
            identity_lookup,
            "give the PAT the Identity (Read) scope; a service principal must be a member of "
            "the organisation",
        ),
        Check(
            NAME,
            f"current iteration of team {work_items.team!r} readable",
            iteration,
            "set INTAKE_DEVOPS_TEAM to a team of the project (default: '<project> Team') "
            "and select its iterations in Team settings",
        ),
    ]

    # --- closing the loop (issue 15): the resolution field every close writes ----------------
    if settings.resolution_field:
        checks.append(
            Check(
                NAME,
                f"resolution field exists in {settings.work_item_type!r}",
                field_exists(settings.resolution_field),
                "add a text field to the type (Organization settings > Process > the type > "
                "New field), or set INTAKE_RESOLUTION_FIELD to one it has, or to empty",
            )
        )

    # --- asking the client (issue 15): the state a request waits for the client in -------
    waiting_checks = [
        Check(
            NAME,
            f"waiting-on-client state exists in {settings.work_item_type!r}",
            states_exist({settings.state_waiting_client: None}),
            "set INTAKE_STATE_WAITING_CLIENT to a state of that type, or add the state "
            "(Organization settings > Process; category In Progress)",
        )
    ]
    return checks + sla_checks + follow_checks + waiting_checks
