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
    BACKLOG,
    CURRENT_SPRINT,
    DEFAULT_NOT_OUR_PROBLEM,
    DONE,
    TriageState,
    TriageStep,
)

log = logging.getLogger(__name__)

RELATED = "System.LinkTypes.Related"
CHILD = "System.LinkTypes.Hierarchy-Forward"


def create_pbi(state: TriageState, services: Services) -> dict[str, Any]:
    """The PBI, in the iteration the scrum master chose (issue 15: its fix version)."""
    settings = services.settings
    chosen = _decision(state).iteration
    path = chosen
    if chosen == CURRENT_SPRINT:
        current = services.work_items.current_iteration()
        path = current.path if current is not None else ""  # none current: the backlog
    elif chosen == BACKLOG:
        path = ""
    created = _create_once(
        state,
        services,
        kind="pbi",
        type=settings.pbi_type,
        title=state.record.request.title,
        iteration_path=path,
    )
    if chosen:  # asked: say where it went (None: the backlog, no version yet)
        created["iteration"] = iteration_name(path) or None
    return created


def iteration_name(path: str) -> str:
    """An iteration's name: the last part of its path (``Intake\\Sprint 12`` -> Sprint 12)."""
    return path.replace("/", "\\").rsplit("\\", 1)[-1] if path else ""


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
    text = decision_trail.proceed_comment(
        state, pbi["id"], tasks, unmentioned, version=version_words(pbi)
    )
    comment = Comment(
        key=_key(state, TriageStep.COMMENT_COORDINATOR), html=text, mention=coordinator
    )
    comment_id = services.work_items.add_comment(_work_item_id(state), comment)
    return {"comment_id": comment_id, "mentioned": coordinator is not None}


def version_words(pbi: dict[str, Any]) -> str:
    """The fix version chosen on Create PBI, in words ("" when it was not asked)."""
    if "iteration" not in pbi:
        return ""
    if pbi["iteration"]:
        return f"Fix version: {pbi['iteration']}."
    return "Fix version: none yet (Backlog)."


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
        context["resolution"] = decision.resolution or DEFAULT_NOT_OUR_PROBLEM
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
    """Not our problem: close the request with its resolution (Won't Do unless chosen)."""
    return close_with(state, services, _decision(state).resolution or DEFAULT_NOT_OUR_PROBLEM)


def close_with(state: TriageState, services: Services, resolution: str) -> dict[str, Any]:
    """Write the resolution (``settings.resolution_field``; empty: not written), then move the
    request to the closed state. Both are idempotent (the same value again changes nothing),
    so a retry after a crash between them only finishes the close."""
    return close_request(_work_item_id(state), resolution, services)


def close_request(work_item_id: int, resolution: str, services: Services) -> dict[str, Any]:
    """Every close of a request (a decision's, the loop's, the no-response cadence's) writes
    its resolution this one way: to ``settings.resolution_field`` (empty: not written), then
    the closed state; the result names the resolution."""
    settings = services.settings
    if settings.resolution_field:
        services.work_items.update(work_item_id, fields={settings.resolution_field: resolution})
    services.work_items.set_state(work_item_id, settings.state_closed)
    return {**state_result(settings.state_closed, services.clock()), "resolution": resolution}


def close_done(state: TriageState, services: Services) -> dict[str, Any]:
    """Close and tell the client (issue 15): closed with the resolution Done."""
    return close_with(state, services, DONE)


def email_done(state: TriageState, services: Services) -> dict[str, Any]:
    """Tell the client what was done and in which iteration, and that the request is closed."""
    offer = state.done_offer or {}
    what = f"{offer.get('type') or 'work item'} #{offer.get('id')}: {offer.get('title') or ''}"
    email = emails.compose_for_client(
        "client_done",
        key=_key(state, TriageStep.EMAIL_DONE),
        request=state.record.request,
        work_item_id=_work_item_id(state),
        subject="Your request is done",
        status_url=status_link(state.record, services),
        reply_to=services.settings.mail_sender,
        what=what.rstrip(": "),
        iteration=offer.get("iteration") or "",
        resolution=DONE,
    )
    message_id = send_once(state.record, email, services)
    return client_email_result(email, message_id, services.clock())


def comment_done(state: TriageState, services: Services) -> dict[str, Any]:
    """The close said on the request's work item (the single source of truth): what was
    done, in which iteration, the resolution, and that the client was told. Keyed: once."""
    offer = state.done_offer or {}
    what = f"{offer.get('type') or 'work item'} #{offer.get('id')}"
    where = f" in {offer['iteration']}" if offer.get("iteration") else " (no iteration)"
    closing = state.closing
    by = closing.by_name if closing is not None else "Intake"
    text = (
        f"<p>Closed: done — {html.escape(what)}{html.escape(where)}; the client was told by "
        f"email. Resolution <b>{DONE}</b>; closed by {html.escape(by)}.</p>"
    )
    comment = Comment(key=_key(state, TriageStep.COMMENT_DONE), html=text)
    return {"comment_id": services.work_items.add_comment(_work_item_id(state), comment)}


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
    TriageStep.CLOSE_DONE: close_done,
    TriageStep.EMAIL_DONE: email_done,
    TriageStep.COMMENT_DONE: comment_done,
}


def _create_once(
    state: TriageState,
    services: Services,
    *,
    kind: str,
    type: str,
    title: str,
    iteration_path: str = "",
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
            iteration_path=iteration_path,
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
