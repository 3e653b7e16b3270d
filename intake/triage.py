"""The triage use cases: votes and scrum-master decisions on the triage card (flow steps 6-7).

A click answers fast with the card for the clicker, and updates the channel message for
everyone (for a vote through the bot: right after the answer, as a queued ``publish_card``).
Slow DevOps work is queued: ``run_decision`` runs a decision's recorded steps (named
``decision.*`` beside the intake steps), each looked up before it is done and recorded right
after, so a retry resumes and repeats nothing. A decision is taken once: ``Store.claim`` lets
exactly one of any number of clicks win.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from typing import Any

from intake import iteration_choices, sla_follow_up, step_runner
from intake.decision_steps import STEP_FUNCTIONS
from intake.decision_trail import VOTE_PREFIX, record_vote_change
from intake.errors import ExternalError, InvalidDecision
from intake.messages import CopyVote, PublishCard, RunDecision
from intake.models import (
    Decision,
    DecisionKind,
    RequestStatus,
    Step,
    Thread,
    Vote,
    VoteChoice,
)
from intake.ports import Services
from intake.triage_rules import (
    DECISION_LABELS,
    PLAN_KINDS,
    Clicker,
    TriageState,
    TriageStep,
    decision_from,
    is_scrum_master,
    person_for,
)
from intake.triage_views import Refusal, triage_view
from intake.workflow import next_steps

log = logging.getLogger(__name__)

NOT_SCRUM_MASTER = "Only a scrum master can decide. Your click changed nothing."
# The scrum master decides; the votes are the staff's advice to them (docs/triage.md).
SCRUM_MASTER_DECIDES = (
    "You decide on this request, so you do not vote: choose a decision below. "
    "Your click changed nothing."
)
NOT_COORDINATOR = (
    "Only the coordinator or a scrum master can close the request. Your click changed nothing."
)
ROLE_NOT_CHECKED = (
    "Your scrum master role could not be checked just now. Your click changed nothing; "
    "try again in a moment."
)
CARD_TURN_SECONDS = 30.0  # how long one publisher may hold the card's update turn
MAX_PUBLISH_ROUNDS = 3  # republishing rounds while updates keep being asked for


def state_of(request_id: str, services: Services) -> TriageState:
    store = services.store
    record = store.get_request(request_id)
    return TriageState(
        record,
        store.votes(request_id),
        tuple(store.scrum_masters()),
        sla_line=sla_follow_up.cached_card_line(record, services),
    )


def view(
    request_id: str, clicker: Clicker, services: Services, *, notice: str = ""
) -> dict[str, Any]:
    """The card as the clicker should see it (the scrum master's view for scrum masters)."""
    state = state_of(request_id, services)
    scrum_master, state = _role(clicker, state, services)
    return triage_view(
        state,
        services.settings,
        viewer=clicker.teams_id,
        scrum_master=bool(scrum_master),
        notice=notice,
    )


def is_scrum_master_now(clicker: Clicker, services: Services) -> bool:
    """True when the clicker is a scrum master: their Entra object id or email is configured,
    or they are in the scrum masters' Entra group (``settings.scrum_master_group_id``, asked
    of the ``Directory``, which caches). Raises ``ExternalError`` when the group cannot be
    asked."""
    settings = services.settings
    if is_scrum_master(clicker, settings):
        return True
    group = settings.scrum_master_group_id
    if not group or not clicker.aad_object_id or services.directory is None:
        return False
    return services.directory.is_member(clicker.aad_object_id, group)


def is_coordinator(clicker: Clicker, services: Services) -> bool:
    """True when the clicker is the configured coordinator (``settings.coordinator_email``):
    by the configured person they are (Entra object id first, as ``person_for`` does)."""
    person = person_for(clicker, services.settings)
    wanted = str(services.settings.coordinator_email).lower()
    return person is not None and str(person.email).lower() == wanted


def _role(
    clicker: Clicker, state: TriageState, services: Services
) -> tuple[bool | None, TriageState]:
    """``_role_of``, and for a scrum master the sprints Create PBI offers (from the store:
    no DevOps call inside a click, see ``intake/iteration_choices.py``)."""
    scrum_master, state = _role_of(clicker, state, services)
    if scrum_master and state.decision is None:
        state = replace(state, sprints=iteration_choices.choices(services))
    return scrum_master, state


def _role_of(
    clicker: Clicker, state: TriageState, services: Services
) -> tuple[bool | None, TriageState]:
    """Whether the clicker is a scrum master (None: it could not be checked), and the state
    with their Teams id learnt: a scrum master's ``from.id`` is remembered the first time they
    click (Teams needs it in ``refresh.userIds`` to show them their view unasked), and
    forgotten when they click without the role."""
    try:
        scrum_master = is_scrum_master_now(clicker, services)
    except ExternalError as exc:
        log.warning("scrum master role not checked (%s)", exc.title)
        return None, state
    if scrum_master == (clicker.teams_id in state.scrum_master_ids):
        return scrum_master, state
    try:
        services.store.set_scrum_master(clicker.teams_id, clicker.name, known=scrum_master)
    except ExternalError as exc:
        log.warning("scrum master's Teams id not recorded (%s)", exc.title)
        return scrum_master, state
    others = tuple(i for i in state.scrum_master_ids if i != clicker.teams_id)
    learnt = (*others, clicker.teams_id) if scrum_master else others
    return scrum_master, replace(state, scrum_master_ids=learnt)


def record_vote(
    request_id: str,
    clicker: Clicker,
    choice: VoteChoice,
    services: Services,
    *,
    publish_queued: bool = False,
) -> dict[str, Any]:
    """Record the clicker's vote (replacing theirs), copy it to the work item's discussion
    (queued), and update the card for everyone.

    With ``publish_queued`` the update for everyone is queued (``publish_card``) instead of
    sent before returning: the bot answers the clicker, who gets their own card in the answer,
    without waiting one Connector round trip; a queue worker sends the update right after.
    Votes only: a decision's update must be sent before its run is queued (see ``decide``)."""
    state = state_of(request_id, services)
    scrum_master, state = _role(clicker, state, services)
    if state.decision is not None or scrum_master:
        return triage_view(
            state,
            services.settings,
            viewer=clicker.teams_id,
            scrum_master=bool(scrum_master),
            notice=(
                "Voting is closed: this is decided."
                if state.decision is not None
                else SCRUM_MASTER_DECIDES
            ),
        )
    vote = Vote(
        voter_id=clicker.teams_id, voter_name=clicker.name, choice=choice, at=services.clock()
    )
    # The change goes on the request's record before the vote itself: a failure answers the
    # click with an error (the person clicks again) and never leaves a vote out of the trail.
    record_vote_change(state.record, vote, state.votes, services)
    previous = services.store.set_vote(request_id, vote)
    state = state_of(request_id, services)
    if previous is None or previous.choice != choice:
        log.info("request %s: vote %s", request_id, choice.value)
        if not (publish_queued and step_runner.enqueue(PublishCard(request_id), services)):
            publish(state, services)
    return triage_view(
        state, services.settings, viewer=clicker.teams_id, scrum_master=bool(scrum_master)
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
    state = state_of(request_id, services)
    scrum_master, state = _role(clicker, state, services)
    if kind is DecisionKind.CLOSE_DONE and not scrum_master and is_coordinator(clicker, services):
        scrum_master = True  # closing the loop is the coordinator's too (issue 15)
    if not scrum_master:
        log.warning("request %s: %s refused, not a scrum master", request_id, kind.value)
        notice = NOT_SCRUM_MASTER if scrum_master is False else ROLE_NOT_CHECKED
        if kind is DecisionKind.CLOSE_DONE and scrum_master is False:
            notice = NOT_COORDINATOR
        return triage_view(state, services.settings, viewer=clicker.teams_id, notice=notice)
    claim_name = TriageStep.PLAN if kind in PLAN_KINDS else TriageStep.DECISION
    if kind is DecisionKind.CLOSE_DONE:
        claim_name = TriageStep.CLOSING
    refusal = _why_not(state, kind)
    if refusal:
        return triage_view(state, services.settings, scrum_master=True, notice=refusal)
    try:
        mine = decision_from(
            kind,
            data,
            clicker,
            uuid.uuid4().hex,
            resolution_codes=services.settings.resolution_codes,
            iterations=[i.path for i in iteration_choices.cached(services)],
        )
        mine = mine.model_copy(update={"at": services.clock()})  # the app's one clock
    except InvalidDecision as exc:
        refused = Refusal(kind, str(exc), data)
        return triage_view(state, services.settings, scrum_master=True, refusal=refused)
    # Unfinished from now until the decision's run ends: the timer (``resume_stalled``) and
    # ``intake replay`` look at unfinished requests, so a lost message or a dead worker cannot
    # leave a decision half done. Set before the claim: a crash right after the claim must
    # not leave a recorded decision that nobody sees as unfinished.
    services.store.set_status(request_id, RequestStatus.IN_PROGRESS.value)
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
    # Queued even when nothing is left to do (Handle during the sprint): the run is what
    # makes sure the channel shows the outcome and marks the request done.
    publish(state, services)
    step_runner.enqueue(RunDecision(request_id), services)
    return triage_view(state, services.settings, scrum_master=True, notice=notice)


def close_on_done(request_id: str, services: Services) -> None:
    """``INTAKE_AUTO_CLOSE_ON_DONE``: Intake asks for the close itself (resolution Done), as
    a click on Close and tell the client would, through the same claim: once, whoever asks."""
    mine = Decision(
        kind=DecisionKind.CLOSE_DONE,
        by_id="intake",
        by_name="Intake (closes when done)",
        token=uuid.uuid4().hex,
        resolution="Done",
        at=services.clock(),
    )
    services.store.set_status(request_id, RequestStatus.IN_PROGRESS.value)
    name = TriageStep.CLOSING.value
    stored = services.store.claim(request_id, name, mine.model_dump(mode="json"))
    services.store.record_step(request_id, name, stored)
    publish(state_of(request_id, services), services)
    step_runner.enqueue(RunDecision(request_id), services)


def _why_not(state: TriageState, kind: DecisionKind) -> str:
    decision = state.decision
    if kind is DecisionKind.CLOSE_DONE:
        closing = state.closing
        if closing is not None:
            return f"Already closed by {closing.by_name}."
        return "" if state.done_offer else "Nothing made from this request is done yet."
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
    """Update the channel message for everyone, from the request's current state.

    Teams keeps whichever update reaches it last, so two updates at nearly the same moment
    could leave an older card showing. Each update therefore asks the store for a new card
    version, and one publisher at a time (the holder of the card's turn) reads the current
    state, renders it and sends it; anyone asking meanwhile leaves the sending to the holder,
    who publishes again when the version moved on while it sent. The clicker's own card comes
    in the invoke answer, so a failure here is logged, not shown: the next update carries it.
    """
    thread = _thread(state)
    if thread is None:
        return
    request_id, store, owner = state.record.request.id, services.store, uuid.uuid4().hex
    try:
        version, mine = store.begin_card_update(request_id, owner, CARD_TURN_SECONDS)
        rounds = 0
        while mine:
            rounds += 1
            published = None
            try:
                card = triage_view(state_of(request_id, services), services.settings)
                card["refresh"]["action"]["data"]["cardVersion"] = version
                services.channel.update_card(thread, card)
                published = version
            finally:
                wanted = store.end_card_update(request_id, owner, published)
            if wanted <= version:
                return
            if rounds >= MAX_PUBLISH_ROUNDS:
                log.warning("request %s: card updates keep coming; leaving v%s", request_id, wanted)
                return
            version, mine = store.begin_card_update(request_id, owner, CARD_TURN_SECONDS)
    except ExternalError as exc:
        log.warning("request %s: card not updated (%s)", request_id, exc.title)


# --- queued work ---------------------------------------------------------------------------


def publish_card(request_id: str, services: Services) -> None:
    """A queued update of the card for everyone (after a vote's answer): the current state,
    in turn with any other update of the same card."""
    step_runner.run(
        request_id,
        services,
        lambda: publish(state_of(request_id, services), services),
        what="its card update",
        runs_steps=False,  # the card's own turn orders the updates, not the request's lease
    )


def copy_vote(message: CopyVote, services: Services) -> None:
    """A vote change queued by an earlier version (which commented each click): kept on the
    request's record for the decision's comment, like any vote change now; no comment."""
    at = message.key.rsplit("-vote-", 1)[-1]
    services.store.record_step(
        message.request_id,
        f"{VOTE_PREFIX}{at}",
        {"text": message.text, "at": at.split("-", 1)[-1]},
    )


def run_decision(request_id: str, services: Services, *, owner: str | None = None) -> None:
    """Run the steps of the request's decision(s) that are not done, update the card, and
    mark the request done (once its intake steps are done too).

    Run by the step runner (``intake/step_runner.py``): raises ``RequestBusy`` while another
    worker holds the request; transient failures are re-raised (the queue delivers the
    message again); a permanent one marks the request failed, for a person to look at
    (``intake replay`` resumes it), and shows it on the card. The card update is part of the
    run: the channel must end showing the outcome.
    """
    store = services.store

    def steps() -> None:
        while True:
            state = state_of(request_id, services)
            pending = state.pending_steps
            if not pending:
                if state.record.status is RequestStatus.FAILED and not next_steps(state.record):
                    # A replay finished what had failed: the request is done after all.
                    store.set_status(request_id, RequestStatus.DONE.value)
                break
            result = STEP_FUNCTIONS[pending[0]](state, services)
            store.record_step(request_id, pending[0].value, result)
            log.info("request %s: %s done", request_id, pending[0].value)
        thread = _thread(state)
        if thread is not None:  # not swallowed (unlike ``publish``): a failure retries the run
            services.channel.update_card(thread, triage_view(state, services.settings))
        if all(state.record.is_done(step) for step in Step):
            store.set_status(request_id, RequestStatus.DONE.value)

    step_runner.run(
        request_id,
        services,
        steps,
        what="its decision",
        owner=owner,
        on_failed=lambda: publish(state_of(request_id, services), services),
    )


def card_thread(request_id: str, services: Services) -> Thread | None:
    """The thread of the request's triage card (None before it is posted): where a click on
    the request's behalf must come from. Raises ``RequestNotFound``."""
    return _thread(state_of(request_id, services))


def _thread(state: TriageState) -> Thread | None:
    posted = state.record.result(Step.POST_TRIAGE_CARD)
    if not posted:
        return None
    return Thread(posted["conversation_id"], posted["activity_id"])
