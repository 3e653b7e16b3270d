"""The triage use cases: votes and scrum-master decisions on the triage card (flow steps 6-7).

A click answers fast with the card for the clicker, and updates the channel message for
everyone. Slow DevOps work is queued: ``run_decision`` runs a decision's recorded steps (named
``decision.*`` beside the intake steps), each looked up before it is done and recorded right
after, so a retry resumes and repeats nothing. A decision is taken once: ``Store.claim`` lets
exactly one of any number of clicks win.
"""

from __future__ import annotations

import hashlib
import html
import logging
import uuid
from collections.abc import Callable
from typing import Any

from intake import emails
from intake.description import describe_request
from intake.errors import ExternalError, RequestBusy
from intake.models import (
    Comment,
    Decision,
    DecisionKind,
    Email,
    RequestStatus,
    Step,
    Thread,
    Vote,
    VoteChoice,
    WorkItemDraft,
)
from intake.ports import Services
from intake.triage_rules import (
    DECISION_LABELS,
    PLAN_KINDS,
    STEPS_OF,
    Clicker,
    InvalidDecision,
    TriageState,
    TriageStep,
    decision_from,
    is_scrum_master,
    vote_comment,
)
from intake.triage_views import triage_view

log = logging.getLogger(__name__)

RUN_DECISION = "run_decision"  # queue message kinds, handled by functions/steps.py
COPY_VOTE = "copy_vote"
LEASE_SECONDS = 300.0
RELATED = "System.LinkTypes.Related"
CHILD = "System.LinkTypes.Hierarchy-Forward"
PROCEED_WORDS = "This dev support issue will proceed"
NOT_SCRUM_MASTER = "Only a scrum master can decide. Your click changed nothing."


def state_of(request_id: str, services: Services) -> TriageState:
    return TriageState(services.store.get_request(request_id), services.store.votes(request_id))


def view(
    request_id: str, clicker: Clicker, services: Services, *, notice: str = ""
) -> dict[str, Any]:
    """The card as the clicker should see it (the scrum master's view for scrum masters)."""
    return triage_view(
        state_of(request_id, services),
        services.settings,
        scrum_master=is_scrum_master(clicker, services.settings),
        notice=notice,
    )


def record_vote(
    request_id: str, clicker: Clicker, choice: VoteChoice, services: Services
) -> dict[str, Any]:
    """Record the clicker's vote (replacing theirs), copy it to the work item's discussion
    (queued), and update the card for everyone."""
    state = state_of(request_id, services)
    if state.decision is not None:
        return view(request_id, clicker, services, notice="Voting is closed: this is decided.")
    vote = Vote(voter_id=clicker.teams_id, voter_name=clicker.name, choice=choice)
    previous = services.store.set_vote(request_id, vote)
    state = state_of(request_id, services)
    if previous is None or previous.choice != choice:
        log.info("request %s: vote %s", request_id, choice.value)
        voter = hashlib.sha256(clicker.teams_id.encode()).hexdigest()[:12]
        _enqueue(
            services,
            {
                "kind": COPY_VOTE,
                "request_id": request_id,
                "key": f"intake-{request_id}-vote-{voter}-{vote.at.isoformat()}",
                "text": vote_comment(vote, previous),
            },
        )
        publish(state, services)
    return triage_view(
        state, services.settings, scrum_master=is_scrum_master(clicker, services.settings)
    )


def decide(
    request_id: str,
    clicker: Clicker,
    kind: DecisionKind,
    data: dict[str, Any],
    services: Services,
) -> dict[str, Any]:
    """Take a scrum master's decision once, queue its steps, show it to everyone.

    The role is checked here on every click: hiding the buttons is not security.
    """
    if not is_scrum_master(clicker, services.settings):
        log.warning("request %s: %s refused, not a scrum master", request_id, kind.value)
        return view(request_id, clicker, services, notice=NOT_SCRUM_MASTER)
    state = state_of(request_id, services)
    claim_name = TriageStep.PLAN if kind in PLAN_KINDS else TriageStep.DECISION
    refusal = _why_not(state, kind)
    if refusal:
        return view(request_id, clicker, services, notice=refusal)
    try:
        mine = decision_from(kind, data, clicker, uuid.uuid4().hex)
    except InvalidDecision as exc:
        return view(request_id, clicker, services, notice=str(exc))
    stored = services.store.claim(request_id, claim_name.value, mine.model_dump(mode="json"))
    winner = Decision.model_validate(stored)
    # The claim is the decision; recording it as a step makes it part of the request's record
    # (a crash between the two is healed by the next click, which records the same winner).
    services.store.record_step(request_id, claim_name.value, winner.model_dump(mode="json"))
    notice = ""
    if winner.token != mine.token:
        notice = f"Already decided by {winner.by_name}: {DECISION_LABELS[winner.kind]}."
    else:
        log.info("request %s: decision %s", request_id, kind.value)
    state = state_of(request_id, services)
    # Publish before queueing: the queued run publishes the finished card, and must be last.
    publish(state, services)
    if not all(state.is_finished(d) for d in (state.decision, state.plan) if d is not None):
        _enqueue(services, {"kind": RUN_DECISION, "request_id": request_id})
    return triage_view(state, services.settings, scrum_master=True, notice=notice)


def _why_not(state: TriageState, kind: DecisionKind) -> str:
    decision = state.decision
    if kind not in PLAN_KINDS:
        if decision is not None:
            return f"Already decided by {decision.by_name}: {DECISION_LABELS[decision.kind]}."
        return ""
    if decision is None or decision.kind is not DecisionKind.CREATE_PBI:
        return "Sprint-urgent or not is decided after Create PBI."
    if state.result(TriageStep.CREATE_PBI) is None:
        return "The PBI is still being created; try again in a moment."
    return ""


def publish(state: TriageState, services: Services) -> None:
    """Update the channel message for everyone. The clicker's own card comes in the invoke
    answer, so a failure here is logged, not shown: the next update carries the change."""
    thread = _thread(state)
    if thread is None:
        return
    try:
        services.channel.update_card(thread, triage_view(state, services.settings))
    except ExternalError as exc:
        log.warning("request %s: card not updated (%s)", state.record.request.id, exc.title)


# --- queued work ---------------------------------------------------------------------------


def copy_vote(message: dict[str, Any], services: Services) -> None:
    """Add one vote to the request's work item discussion (the comment key makes it once)."""
    record = services.store.get_request(str(message["request_id"]))
    if record.work_item_id is None:
        return
    comment = Comment(key=str(message["key"]), html=f"<p>{html.escape(str(message['text']))}</p>")
    services.work_items.add_comment(record.work_item_id, comment)


def run_decision(request_id: str, services: Services, *, owner: str | None = None) -> None:
    """Run the steps of the request's decision(s) that are not done, then update the card.

    Transient failures are re-raised (the queue delivers the message again); a permanent one
    marks the request failed, for a person to look at.
    """
    owner = owner or uuid.uuid4().hex
    store = services.store
    if not store.acquire_lease(request_id, owner, LEASE_SECONDS):
        raise RequestBusy(f"request {request_id} is being worked on; the queue will retry")
    try:
        while True:
            state = state_of(request_id, services)
            pending = [
                step
                for decision in (state.decision, state.plan)
                if decision is not None
                for step in STEPS_OF[decision.kind]
                if state.result(step) is None
            ]
            if not pending:
                break
            result = STEP_FUNCTIONS[pending[0]](state, services)
            store.record_step(request_id, pending[0].value, result)
            log.info("request %s: %s done", request_id, pending[0].value)
    except ExternalError as exc:
        if exc.transient:
            raise
        reason = f"{exc.title}: {exc.detail}"
        store.set_status(request_id, RequestStatus.FAILED.value, last_error=reason)
        log.error("request %s: decision failed permanently: %s", request_id, reason)
    finally:
        store.release_lease(request_id, owner)
    publish(state_of(request_id, services), services)


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
    for index, title in enumerate(decision.tasks):
        tag = f"intake-{state.record.request.id}-task-{index}"
        ref = services.work_items.find_by_tag(tag)
        if ref is None:
            draft = WorkItemDraft(
                type=services.settings.task_type,
                title=title,
                description_html="",
                area_path=services.settings.dev_area_path,
            )
            ref = services.work_items.create(draft, tag=tag)
        services.work_items.add_link(pbi["id"], ref.id, CHILD)
        tasks.append({"id": ref.id, "url": ref.url, "title": title})
    return {"tasks": tasks}


def link_pbi(state: TriageState, services: Services) -> dict[str, Any]:
    pbi = _result(state, TriageStep.CREATE_PBI)
    services.work_items.add_link(_work_item_id(state), pbi["id"], RELATED)
    return {"relation": RELATED, "target": pbi["id"]}


def comment_coordinator(state: TriageState, services: Services) -> dict[str, Any]:
    """@mention the coordinator on the request: it will proceed, with the PBI's number."""
    settings, pbi = services.settings, _result(state, TriageStep.CREATE_PBI)
    coordinator = services.work_items.find_identity(str(settings.coordinator_email))
    words = f"{PROCEED_WORDS}: PBI #{pbi['id']}."
    if coordinator is None:  # no DevOps identity: name them, unmentioned
        words = f"{html.escape(settings.coordinator_name)}: {words}"
    comment = Comment(
        key=_key(state, TriageStep.COMMENT_COORDINATOR), html=words, mention=coordinator
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
    decision = _decision(state)
    text = (
        f"<p>Not our problem (decided by {html.escape(decision.by_name)}).</p>"
        f"<p>Root cause: {html.escape(decision.root_cause)}</p>"
    )
    comment = Comment(key=_key(state, TriageStep.COMMENT_ROOT_CAUSE), html=text)
    return {"comment_id": services.work_items.add_comment(_work_item_id(state), comment)}


def email_client(state: TriageState, services: Services) -> dict[str, Any]:
    """Tell the client the outcome: the root cause, or the Bug / Feature that was created."""
    request, decision = state.record.request, _decision(state)
    number = _work_item_id(state)
    context: dict[str, Any] = {"request": request, "number": number, "url": _url(state)}
    if decision.kind is DecisionKind.NOT_OUR_PROBLEM:
        kind, subject = "client_not_our_problem", f"Your request #{number} is closed"
        context["root_cause"] = decision.root_cause
    else:
        created = _result(state, TriageStep.CREATE_BUG_OR_FEATURE)
        kind = "client_bug_or_feature"
        label = "bug" if decision.bug_or_feature == "bug" else "feature request"
        subject = f"Your request #{number} is now {label} #{created['id']}"
        context.update(label=label, created=created)
    html_body, text = emails.render(kind, **context)
    email = Email(
        key=_key(state, TriageStep.EMAIL_CLIENT),
        to=(request.client_email,),
        subject=subject,
        html=html_body,
        text=text,
        work_item_id=number,
    )
    return {"message_id": services.mailer.send(email)}  # the key makes a resend a no-op


def close(state: TriageState, services: Services) -> dict[str, Any]:
    state_closed = services.settings.state_closed
    services.work_items.set_state(_work_item_id(state), state_closed)
    return {"state": state_closed}


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
}


def _create_once(
    state: TriageState, services: Services, *, kind: str, type: str, title: str
) -> dict[str, Any]:
    """Create a work item for the decision unless one with its tag exists (a crash after
    create): the tag is how a retry finds it again."""
    request = state.record.request
    tag = f"intake-{request.id}-{kind}"
    ref = services.work_items.find_by_tag(tag)
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
        ref = services.work_items.create(draft, tag=tag)
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
    work_item_id = state.record.work_item_id
    assert work_item_id is not None  # the card exists, so the work item does
    return work_item_id


def _url(state: TriageState) -> str:
    return str(state.record.result(Step.CREATE_WORK_ITEM).get("url", ""))


def _key(state: TriageState, step: TriageStep) -> str:
    return f"intake-{state.record.request.id}-{step.value}"


def _thread(state: TriageState) -> Thread | None:
    posted = state.record.result(Step.POST_TRIAGE_CARD)
    if not posted:
        return None
    return Thread(posted["conversation_id"], posted["activity_id"])


def _enqueue(services: Services, message: dict[str, Any]) -> None:
    try:
        services.queue.send(message)
    except ExternalError as exc:
        log.warning(
            "request %s: %s not queued (%s)", message["request_id"], message["kind"], exc.title
        )
