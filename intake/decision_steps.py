"""The steps of a scrum master's decision, run by ``triage.run_decision`` from the queue:
create the PBI (and its Tasks) or the Bug/Feature, link it to the request, write the decision
(with the votes) on the request, move the PBI into the sprint, move the request to its state
after the decision, tell the client, close the request.

Each step looks for its effect before doing it (a work item by its key in the request id
field, an email by its key, a comment by its key), so a retry after a crash repeats nothing.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any

from intake import decision_trail, emails
from intake.attempts import send_once
from intake.client_status import client_email_result, state_result
from intake.description import describe_request
from intake.models import (
    Comment,
    Decision,
    DecisionKind,
    Step,
    WorkItemDraft,
)
from intake.ports import Services
from intake.status_page import status_link
from intake.triage_rules import (
    TriageState,
    TriageStep,
)

log = logging.getLogger(__name__)

RELATED = "System.LinkTypes.Related"
CHILD = "System.LinkTypes.Hierarchy-Forward"


def create_pbi(state: TriageState, services: Services) -> dict[str, Any]:
    settings = services.settings
    return _create_once(
        state,
        services,
        kind="pbi",
        type=settings.pbi_type,
        title=state.record.request.title,
    )


def create_tasks(state: TriageState, services: Services) -> dict[str, Any]:
    decision, pbi = _decision(state), _result(state, TriageStep.CREATE_PBI)
    tasks = []
    request = state.record.request
    for index, title in enumerate(decision.tasks):
        what = f"task-{index}"
        ref = services.work_items.find_created(
            request.created_key(what), legacy_tag=request.legacy_tag(what)
        )
        if ref is None:
            draft = WorkItemDraft(
                type=services.settings.task_type,
                title=title,
                description_html="",
                area_path=services.settings.dev_area_path,
            )
            ref = services.work_items.create(draft, key=request.created_key(what))
        services.work_items.add_link(pbi["id"], ref.id, CHILD)
        tasks.append({"id": ref.id, "url": ref.url, "title": title})
    return {"tasks": tasks}


def link_pbi(state: TriageState, services: Services) -> dict[str, Any]:
    pbi = _result(state, TriageStep.CREATE_PBI)
    services.work_items.add_link(_work_item_id(state), pbi["id"], RELATED)
    return {"relation": RELATED, "target": pbi["id"]}


def comment_coordinator(state: TriageState, services: Services) -> dict[str, Any]:
    """@mention the coordinator on the request: it will proceed, with the PBI's number, its
    Tasks, who decided, and the votes (the decision's one comment)."""
    settings, pbi = services.settings, _result(state, TriageStep.CREATE_PBI)
    coordinator = services.work_items.find_identity(str(settings.coordinator_email))
    tasks = (_result(state, TriageStep.CREATE_TASKS) or {}).get("tasks", [])
    unmentioned = "" if coordinator is not None else settings.coordinator_name
    text = decision_trail.proceed_comment(state, pbi["id"], tasks, unmentioned)
    comment = Comment(
        key=_key(state, TriageStep.COMMENT_COORDINATOR), html=text, mention=coordinator
    )
    comment_id = services.work_items.add_comment(_work_item_id(state), comment)
    return {"comment_id": comment_id, "mentioned": coordinator is not None}


def add_to_sprint(state: TriageState, services: Services) -> dict[str, Any]:
    """Sprint-urgent: into the team's current iteration, tagged, top priority."""
    pbi = _result(state, TriageStep.CREATE_PBI)
    iteration = services.work_items.current_iteration()
    if iteration is None:
        log.warning("request %s: no current sprint; the PBI stays", state.record.request.id)
        return {"iteration": None}
    services.work_items.update(
        pbi["id"],
        fields={"System.IterationPath": iteration.path, "Microsoft.VSTS.Common.Priority": 1},
        add_tags=(services.settings.sprint_urgent_tag,),
    )
    return {"iteration": iteration.name, "path": iteration.path}


def comment_root_cause(state: TriageState, services: Services) -> dict[str, Any]:
    text = decision_trail.root_cause_comment(state)
    comment = Comment(key=_key(state, TriageStep.COMMENT_ROOT_CAUSE), html=text)
    return {"comment_id": services.work_items.add_comment(_work_item_id(state), comment)}


def email_client(state: TriageState, services: Services) -> dict[str, Any]:
    """Tell the client the outcome: the root cause, the Bug / Feature that was created, or
    (Proceed) that it is accepted and being planned."""
    request, decision = state.record.request, _decision(state)
    number = _work_item_id(state)
    context: dict[str, Any] = {}
    if decision.kind is DecisionKind.NOT_OUR_PROBLEM:
        kind, subject = "client_not_our_problem", "Your request is closed"
        context["root_cause"] = decision.root_cause
    elif decision.kind is DecisionKind.CREATE_PBI:
        # Accepted and being planned; nothing internal (no PBI number, no sprint).
        kind, subject = "client_proceed", "Your request is accepted"
    else:
        created = _result(state, TriageStep.CREATE_BUG_OR_FEATURE)
        kind = "client_bug_or_feature"
        label = "bug" if decision.bug_or_feature == "bug" else "feature request"
        subject = f"Your request is now {label} #{created['id']}"
        context.update(label=label, created=created)
    email = emails.compose_for_client(
        kind,
        key=_key(state, TriageStep.EMAIL_CLIENT),
        request=request,
        work_item_id=number,
        subject=subject,
        status_url=status_link(state.record, services),
        reply_to=services.settings.mail_sender,
        **context,
    )
    # Sent Items is looked up first, and a numbered attempt recorded before sending (as the
    # intake emails): Sent Items lags, so the key alone cannot stop a second email.
    message_id = send_once(state.record, email, services)
    return client_email_result(email, message_id, services.clock())


def close(state: TriageState, services: Services) -> dict[str, Any]:
    state_closed = services.settings.state_closed
    services.work_items.set_state(_work_item_id(state), state_closed)
    return state_result(state_closed, services.clock())


def set_state(state: TriageState, services: Services) -> dict[str, Any]:
    """Move the request to its configured state after the decision (empty: leave it)."""
    settings, decision = services.settings, _decision(state)
    wanted = (
        settings.state_after_proceed
        if decision.kind is DecisionKind.CREATE_PBI
        else settings.state_after_bug_or_feature
    )
    if not wanted:
        return {"state": None}
    services.work_items.set_state(_work_item_id(state), wanted)
    return state_result(wanted, services.clock())


def comment_bug_or_feature(state: TriageState, services: Services) -> dict[str, Any]:
    """The decision's comment on the request: which was created, linked, who decided, votes."""
    created = _result(state, TriageStep.CREATE_BUG_OR_FEATURE)
    text = decision_trail.bug_or_feature_comment(state, created)
    comment = Comment(key=_key(state, TriageStep.COMMENT_BUG_OR_FEATURE), html=text)
    return {"comment_id": services.work_items.add_comment(_work_item_id(state), comment)}


def comment_plan(state: TriageState, services: Services) -> dict[str, Any]:
    """Sprint-urgent or not, on the request: where the PBI went, and who said so."""
    pbi = _result(state, TriageStep.CREATE_PBI)
    sprint = state.result(TriageStep.ADD_TO_SPRINT)  # None: handled during the sprint
    text = decision_trail.plan_comment(state, pbi["id"], sprint, services.settings)
    comment = Comment(key=_key(state, TriageStep.COMMENT_PLAN), html=text)
    return {"comment_id": services.work_items.add_comment(_work_item_id(state), comment)}


def create_bug_or_feature(state: TriageState, services: Services) -> dict[str, Any]:
    settings, decision = services.settings, _decision(state)
    is_bug = decision.bug_or_feature == "bug"
    return _create_once(
        state,
        services,
        kind=decision.bug_or_feature,
        type=settings.bug_type if is_bug else settings.feature_type,
        title=state.record.request.title,
    )


def link_bug_or_feature(state: TriageState, services: Services) -> dict[str, Any]:
    created = _result(state, TriageStep.CREATE_BUG_OR_FEATURE)
    services.work_items.add_link(_work_item_id(state), created["id"], RELATED)
    return {"relation": RELATED, "target": created["id"]}


STEP_FUNCTIONS: dict[TriageStep, Callable[[TriageState, Services], dict[str, Any]]] = {
    TriageStep.CREATE_PBI: create_pbi,
    TriageStep.CREATE_TASKS: create_tasks,
    TriageStep.LINK_PBI: link_pbi,
    TriageStep.COMMENT_COORDINATOR: comment_coordinator,
    TriageStep.ADD_TO_SPRINT: add_to_sprint,
    TriageStep.COMMENT_ROOT_CAUSE: comment_root_cause,
    TriageStep.EMAIL_CLIENT: email_client,
    TriageStep.CLOSE: close,
    TriageStep.CREATE_BUG_OR_FEATURE: create_bug_or_feature,
    TriageStep.LINK_BUG_OR_FEATURE: link_bug_or_feature,
    TriageStep.COMMENT_BUG_OR_FEATURE: comment_bug_or_feature,
    TriageStep.COMMENT_PLAN: comment_plan,
    TriageStep.SET_STATE: set_state,
}


def _create_once(
    state: TriageState, services: Services, *, kind: str, type: str, title: str
) -> dict[str, Any]:
    """Create a work item for the decision unless one with its key exists (a crash after
    create): the key (request id field) is how a retry finds it again; items made before
    the field are found by their old tag."""
    request = state.record.request
    ref = services.work_items.find_created(
        request.created_key(kind), legacy_tag=request.legacy_tag(kind)
    )
    if ref is None:
        description = (
            f'<p>From request <a href="{html.escape(_url(state))}">#{_work_item_id(state)}</a>'
            f" (triage decision by {html.escape(_decision(state).by_name)}).</p>"
            + describe_request(request)
        )
        draft = WorkItemDraft(
            type=type,
            title=title,
            description_html=description,
            tags=tuple(services.settings.tags),
            area_path=services.settings.dev_area_path,
        )
        ref = services.work_items.create(draft, key=request.created_key(kind))
    return {"id": ref.id, "url": ref.url, "type": type}


def _decision(state: TriageState) -> Decision:
    decision = state.decision
    assert decision is not None  # a step runs only for a recorded decision
    return decision


def _result(state: TriageState, step: TriageStep) -> dict[str, Any]:
    result = state.result(step)
    assert result is not None  # STEPS_OF orders the steps so this is done
    return result


def _work_item_id(state: TriageState) -> int:
    return state.record.created_work_item_id()


def _url(state: TriageState) -> str:
    return str(state.record.result(Step.CREATE_WORK_ITEM).get("url", ""))


def _key(state: TriageState, step: TriageStep) -> str:
    return state.record.effect_key(step.value)
