"""The triage card in each of its states: voting, decided (working), done; everyone's view and
the scrum master's view (with the decision actions).

Built from the JSON templates in ``cards/`` (the triage card and its fragments); every text a
person typed is markdown-escaped before it goes in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from intake.config import Settings
from intake.models import DecisionKind, RequestRecord, Step
from intake.sla_ladder import add_sla_fact
from intake.triage_card import (
    DESCRIPTION_ON_CARD,
    MAX_CARD_BYTES,
    build_triage_card,
    card_bytes,
    element,
    escape_markdown,
    load_card,
    shortened,
)
from intake.triage_rules import (
    BACKLOG,
    CHOICE_LABELS,
    CURRENT_SPRINT,
    DECISION_LABELS,
    DEFAULT_NOT_OUR_PROBLEM,
    DONE,
    MAX_REFRESH_USERS,
    NO_RESPONSE,
    SprintChoices,
    TriageState,
    TriageStep,
    scrum_master_teams_ids,
    tally_text,
)
from intake.waiting import coordinator_teams_ids

log = logging.getLogger(__name__)
YOUR_VOTE_MARK = "✓ "


@dataclass(frozen=True)
class Refusal:
    """A decision click refused for what was typed: the reason goes next to the field, and
    what was typed (``typed``: the card's inputs as the click sent them) stays in it."""

    kind: DecisionKind
    reason: str
    typed: dict[str, Any] = field(default_factory=dict)


# For each decision with a form: its Show-card button and the input a refusal is about.
FORMS = {
    DecisionKind.CREATE_PBI: ("show-create-pbi", "tasks"),
    DecisionKind.NOT_OUR_PROBLEM: ("show-not-our-problem", "rootCause"),
    DecisionKind.BUG_OR_FEATURE: ("show-bug-or-feature", "bugOrFeature"),
}


@dataclass(frozen=True)
class Room:
    """How much of each unbounded text a card shows: a view is rendered with the first room
    of ``ROOMS`` whose card fits ``MAX_CARD_BYTES`` (the work item keeps everything)."""

    description_chars: int = DESCRIPTION_ON_CARD
    text_chars: int | None = None  # facts, names, the root cause
    voters: int | None = None  # rows of the "who voted what" list
    refresh_users: int = MAX_REFRESH_USERS
    keep_typed: bool = True


ROOMS = (
    Room(),
    Room(description_chars=600, text_chars=300, voters=40),
    Room(description_chars=200, text_chars=80, voters=15, refresh_users=30),
    # Fits whatever the input: every text bounded (see tests/unit/test_card_size.py).
    Room(description_chars=0, text_chars=40, voters=5, refresh_users=10, keep_typed=False),
)


def triage_view(
    state: TriageState,
    settings: Settings,
    *,
    viewer: str = "",
    scrum_master: bool = False,
    notice: str = "",
    refusal: Refusal | None = None,
) -> dict[str, Any]:
    """The card for everyone (no ``viewer``: the channel message), for one support person
    (``viewer``: their Teams id; their vote is marked), or for a scrum master (the decision
    actions instead of the votes: the scrum master decides, the staff advise). ``notice`` is
    a line for the clicker alone; ``refusal`` a refused decision, shown at its field."""
    card: dict[str, Any] = {}
    for room in ROOMS:
        card = _render(state, settings, room, viewer, scrum_master, notice, refusal)
        if card_bytes(card) <= MAX_CARD_BYTES:
            return card
    log.error("request %s: card of %s bytes", state.record.request.id, card_bytes(card))
    return card


def new_triage_card(
    record: RequestRecord, settings: Settings, scrum_master_ids: tuple[str, ...]
) -> dict[str, Any]:
    """The card first posted for a new request (no votes yet): everyone's view."""
    return triage_view(TriageState(record, [], scrum_master_ids), settings)


def _render(
    state: TriageState,
    settings: Settings,
    room: Room,
    viewer: str,
    scrum_master: bool,
    notice: str,
    refusal: Refusal | None,
) -> dict[str, Any]:
    record = state.record
    card = build_triage_card(
        record.request,
        record.work_item_id or 0,
        _work_item_url(state),
        headlines=settings.headlines,
        description_chars=room.description_chars,
        fact_chars=room.text_chars,
    )
    # Teams refreshes these users' view unasked: the scrum masters (their view differs), then
    # the voters (each sees their own vote); at most 60, Teams' limit.
    refresh = [
        *scrum_master_teams_ids(settings, state.scrum_master_ids),
        *coordinator_teams_ids(settings),  # their view can Ask the client
        *(vote.voter_id for vote in state.votes),
    ]
    card["refresh"]["userIds"] = list(dict.fromkeys(refresh))[: room.refresh_users]
    add_sla_fact(card, record.request, state.decision, settings, known=state.sla_line)
    body: list[dict[str, Any]] = card["body"]
    element(card, "tally")["text"] = tally_text(state.votes)
    mine = next((v for v in state.votes if viewer and v.voter_id == viewer), None)
    decision = state.decision
    if mine is not None and decision is None and not scrum_master:
        element(card, "your-vote")["text"] = (
            f"Your vote: {CHOICE_LABELS[mine.choice]}. Click another option to change it."
        )
        for action in card["actions"]:
            if action.get("data", {}).get("vote") == mine.choice.value:
                action["style"] = "positive"
                action["title"] = action["fallback"]["title"] = YOUR_VOTE_MARK + action["title"]
    else:
        body.remove(element(card, "your-vote"))
    if state.votes:
        body.append(_voters(state, room))
    if decision is not None or scrum_master:
        # Decided: the votes are over (the server refuses late votes anyway). A scrum master
        # decides instead of voting: their view has no vote buttons to misclick.
        card["actions"] = [a for a in card["actions"] if a["type"] != "Action.Execute"]
    if state.offers_close and decision is not None:
        # Everyone's view (the coordinator has no view of their own); the server checks who.
        body.append(_close_offer(state))
    if scrum_master and decision is None:
        body.append(_decide(state, settings, refusal, room))
    elif scrum_master and state.awaits_plan:
        body.append(_with_request_id(load_card("scrum_master_plan"), record.request.id))
    if _asks(state, settings, viewer, scrum_master):
        body.append(_with_request_id(load_card("ask_client"), record.request.id))
    headline = element(card, "headline")
    body.remove(headline)
    # Once decided, the headline's question is answered: the answer takes its place.
    top = [_outcome(state, room) if decision is not None else headline]
    if notice:
        note = load_card("notice")
        note["text"] = escape_markdown(notice)
        top.append(note)
    card["body"] = [*top, *body]
    return card


def _asks(state: TriageState, settings: Settings, viewer: str, scrum_master: bool) -> bool:
    """**Ask the client** is the coordinator's and the scrum masters' (the server checks the
    role again), on a request with a work item that its decision did not close."""
    decision = state.decision
    if state.record.work_item_id is None or (
        decision is not None and decision.kind is DecisionKind.NOT_OUR_PROBLEM
    ):
        return False
    return scrum_master or bool(viewer and viewer in coordinator_teams_ids(settings))


def _voters(state: TriageState, room: Room) -> dict[str, Any]:
    """Who voted what; only the latest votes when not all fit (the tally counts them all)."""
    voters = load_card("voters")
    shown = state.votes if room.voters is None else state.votes[-room.voters :]
    voters["facts"] = [
        {
            "title": escape_markdown(shortened(vote.voter_name, room.text_chars)),
            "value": CHOICE_LABELS[vote.choice],
        }
        for vote in shown
    ]
    hidden = len(state.votes) - len(shown)
    if hidden:
        voters["facts"].insert(0, {"title": "Earlier votes", "value": f"{hidden} more"})
    return voters


def _decide(
    state: TriageState, settings: Settings, refusal: Refusal | None, room: Room
) -> dict[str, Any]:
    """The scrum master's decisions; a refused one open as a form, its reason under its
    field and what was typed kept (a Show-card would come back closed, hiding both)."""
    request_id = state.record.request.id
    fragment = load_card("scrum_master_decide")
    _fill_choices(fragment, state.sprints, settings)
    if refusal is not None and refusal.kind in FORMS:
        show_id, input_id = FORMS[refusal.kind]
        items: list[dict[str, Any]] = fragment["items"]
        decisions = next(i for i in items if i.get("id") == "decisions")
        show = next(a for a in decisions["actions"] if a["id"] == show_id)
        decisions["actions"].remove(show)  # its form is open below: one button per title
        form: list[dict[str, Any]] = [
            {"type": "TextBlock", "text": show["title"], "wrap": True, "weight": "Bolder"}
        ]
        for item in show["card"]["body"]:
            form.append(item)
            if item.get("id") == input_id:
                _keep_typed(item, refusal.typed.get(input_id), room)
                form.append(
                    {
                        "type": "TextBlock",
                        "id": f"{input_id}-error",
                        "text": escape_markdown(refusal.reason),
                        "wrap": True,
                        "color": "Attention",
                        "spacing": "Small",
                    }
                )
        form.append({"type": "ActionSet", "actions": show["card"]["actions"]})
        container = {"type": "Container", "id": "refused-decision", "style": "attention"}
        items.insert(items.index(decisions), {**container, "items": form})
        if not decisions["actions"]:
            items.remove(decisions)
    return _with_request_id(fragment, request_id)  # type: ignore[no-any-return]


def _fill_choices(node: Any, sprints: SprintChoices, settings: Settings) -> None:
    """Fill the decisions' choice sets (at any depth): Create PBI's iteration (the current
    sprint preselected, the coming ones, the backlog) and Not our problem's resolution."""
    if isinstance(node, list):
        for value in node:
            _fill_choices(value, sprints, settings)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "Input.ChoiceSet" and node.get("id") == "iteration":
        current = sprints.current
        node["choices"] = [
            {
                "title": f"{current.name} (current sprint)" if current else "Current sprint",
                "value": current.path if current else CURRENT_SPRINT,
            },
            *(
                {"title": i.name, "value": i.path}
                for i in sprints.coming
                if current is None or i.path != current.path
            ),
            {"title": "Backlog (no version yet)", "value": BACKLOG},
        ]
        node["value"] = node["choices"][0]["value"]
        return
    if node.get("type") == "Input.ChoiceSet" and node.get("id") == "resolution":
        codes = [c for c in settings.resolution_codes if c not in (DONE, NO_RESPONSE)]
        codes = codes or list(settings.resolution_codes)
        node["choices"] = [{"title": c, "value": c} for c in codes]
        node["value"] = DEFAULT_NOT_OUR_PROBLEM if DEFAULT_NOT_OUR_PROBLEM in codes else codes[0]
        return
    for value in node.values():
        _fill_choices(value, sprints, settings)


def _close_offer(state: TriageState) -> dict[str, Any]:
    """What reached a done state, and Close and tell the client (issue 15)."""
    offer = state.done_offer or {}
    block = load_card("close_done")
    items = {item.get("id"): item for item in block["items"]}
    iteration = offer.get("iteration")
    items["close-loop-text"]["text"] = (
        f"{escape_markdown(str(offer.get('type') or 'Work item'))} #{offer.get('id')} is "
        f"{escape_markdown(str(offer.get('itemState') or 'done'))}"
        + (f" ({escape_markdown(str(iteration))})." if iteration else ".")
    )
    return _with_request_id(block, state.record.request.id)  # type: ignore[no-any-return]


def _keep_typed(item: dict[str, Any], typed: Any, room: Room) -> None:
    """Put back what was typed into a refused decision's input (text only)."""
    if not isinstance(typed, str) or not room.keep_typed:
        return
    if item["type"] == "Input.ChoiceSet":
        if typed in {choice["value"] for choice in item["choices"]}:
            item["value"] = typed
        return
    item["value"] = typed


def _outcome(state: TriageState, room: Room) -> dict[str, Any]:
    """What was decided and what came of it: the card's answer, at its top."""
    decision = state.decision
    assert decision is not None
    outcome = load_card("outcome")
    items = {item["id"]: item for item in outcome["items"]}
    said = DECISION_LABELS[decision.kind]
    if decision.kind is DecisionKind.BUG_OR_FEATURE and decision.bug_or_feature:
        said += " (a Bug)" if decision.bug_or_feature == "bug" else " (a Feature request)"
    by = escape_markdown(shortened(decision.by_name, room.text_chars))
    items["outcome-title"]["text"] = f"Decided: {said}, by {by}"
    lines: list[str] = []
    links: list[dict[str, Any]] = []
    failure = _failure_lines(state)
    if failure:
        block = load_card("failure")
        block["text"] = "\n\n".join(failure)
        outcome["items"].insert(1, block)
    elif not state.is_finished(decision):
        lines.append("Working on it…")
    if decision.kind is DecisionKind.CREATE_PBI:
        pbi = state.result(TriageStep.CREATE_PBI)
        if pbi:
            tasks = (state.result(TriageStep.CREATE_TASKS) or {}).get("tasks", [])
            lines.append(
                f"PBI #{pbi['id']} created and linked"
                + (f", with {len(tasks)} task{'s' if len(tasks) != 1 else ''}." if tasks else ".")
            )
            links.append(_link(f"Open PBI #{pbi['id']}", pbi["url"]))
        if state.result(TriageStep.COMMENT_COORDINATOR):
            lines.append("The coordinator was told that it will proceed.")
        lines.extend(_plan_lines(state, room))
    elif decision.kind is DecisionKind.NOT_OUR_PROBLEM:
        cause = shortened(decision.root_cause, max(room.description_chars, 200))
        lines.append(f"Root cause: {escape_markdown(cause)}")
        if state.is_finished(decision):
            lines.append("The request is closed and the client was told by email.")
    elif decision.kind is DecisionKind.BUG_OR_FEATURE:
        created = state.result(TriageStep.CREATE_BUG_OR_FEATURE)
        if created:
            lines.append(f"{created['type']} #{created['id']} created and linked.")
            links.append(_link(f"Open {created['type']} #{created['id']}", created["url"]))
        if state.result(TriageStep.EMAIL_CLIENT):
            lines.append("The client was told by email.")
    lines.extend(_closing_lines(state, room))
    items["outcome-detail"]["text"] = "\n\n".join(lines)
    if links:
        items["outcome-links"]["actions"] = links
    else:
        outcome["items"] = [item for item in outcome["items"] if item["id"] != "outcome-links"]
    return outcome


def _closing_lines(state: TriageState, room: Room) -> list[str]:
    """Closing the loop (issue 15): the close asked for, and what came of it."""
    closing = state.closing
    if closing is None:
        return []
    by = escape_markdown(shortened(closing.by_name, room.text_chars))
    if state.result(TriageStep.EMAIL_DONE):
        return [f"Closed (resolution {DONE}) by {by}; the client was told by email."]
    return [f"Closing (resolution {DONE}, asked by {by})…"]


# What each decision step does, in words for the channel (when it fails).
STEP_WORDS = {
    TriageStep.CREATE_PBI: "creating the PBI in DevOps",
    TriageStep.CREATE_TASKS: "creating the PBI's tasks in DevOps",
    TriageStep.LINK_PBI: "linking the PBI to the request in DevOps",
    TriageStep.COMMENT_COORDINATOR: "telling the coordinator on the request in DevOps",
    TriageStep.ADD_TO_SPRINT: "moving the PBI into the current sprint",
    TriageStep.COMMENT_ROOT_CAUSE: "adding the root cause to the request in DevOps",
    TriageStep.EMAIL_CLIENT: "emailing the client",
    TriageStep.CLOSE: "closing the request in DevOps",
    TriageStep.CREATE_BUG_OR_FEATURE: "creating the Bug / Feature request in DevOps",
    TriageStep.LINK_BUG_OR_FEATURE: "linking the Bug / Feature request to the request in DevOps",
    TriageStep.COMMENT_BUG_OR_FEATURE: "writing the decision on the request in DevOps",
    TriageStep.COMMENT_PLAN: "writing sprint-urgent or not on the request in DevOps",
    TriageStep.SET_STATE: "moving the request to its state after the decision in DevOps",
    TriageStep.CLOSE_DONE: "closing the request (resolution Done) in DevOps",
    TriageStep.EMAIL_DONE: "telling the client the request is done",
    TriageStep.COMMENT_DONE: "writing the close on the request in DevOps",
}
MAX_REASON = 160


def _failure_lines(state: TriageState) -> list[str]:
    """What failed, for everyone in the channel: the step in words, the short reason, that the
    team knows, and how it is finished (a replay repeats nothing that is done)."""
    step = state.failed_step
    if step is None:
        return []
    reason = " ".join(state.record.last_error.split())
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 1] + "…"
    said = f"Stopped: {STEP_WORDS[step]} failed" + (
        f" ({escape_markdown(reason)})." if reason else "."
    )
    return [
        said,
        "The support team was told (this message), and the request is marked failed. "
        "What was done before this step stays done and is not repeated.",
        f"To finish it, an operator runs: python -m intake replay {state.record.request.id} "
        "(this card then shows the outcome).",
    ]


def _plan_lines(state: TriageState, room: Room) -> list[str]:
    plan = state.plan
    if plan is None:
        return ["Waiting for the scrum master: sprint-urgent, or handle during the sprint."]
    by = escape_markdown(shortened(plan.by_name, room.text_chars))
    if plan.kind is DecisionKind.HANDLE_IN_SPRINT:
        return [f"Handle during the sprint ({by}): the PBI stays in the backlog."]
    sprint = state.result(TriageStep.ADD_TO_SPRINT)
    if sprint is None and state.failed_step is TriageStep.ADD_TO_SPRINT:
        return [f"Sprint-urgent ({by}): the PBI is not in the sprint yet (see above)."]
    if sprint is None:
        return [f"Sprint-urgent ({by}): moving the PBI into the current sprint…"]
    if not sprint.get("iteration"):
        return [f"Sprint-urgent ({by}): no sprint is current, so the PBI stays in the backlog."]
    return [
        f"Sprint-urgent ({by}): the PBI is in {escape_markdown(sprint['iteration'])}, "
        "tagged sprint-urgent, top priority."
    ]


def _link(title: str, url: str) -> dict[str, Any]:
    return {"type": "Action.OpenUrl", "title": title, "url": url}


def _with_request_id(node: Any, request_id: str) -> Any:
    """Put the request id in the data of every Action.Execute of a fragment (at any depth)."""
    if isinstance(node, dict):
        if node.get("type") == "Action.Execute":
            node["data"]["requestId"] = request_id
        for value in node.values():
            _with_request_id(value, request_id)
    elif isinstance(node, list):
        for value in node:
            _with_request_id(value, request_id)
    return node


def _work_item_url(state: TriageState) -> str:
    return str(state.record.result(Step.CREATE_WORK_ITEM).get("url", ""))
