"""The triage card in each of its states: voting, decided (working), done; everyone's view and
the scrum master's view (with the decision actions).

Built from the JSON templates in ``cards/`` (the triage card and its fragments); every text a
person typed is markdown-escaped before it goes in.
"""

from __future__ import annotations

from typing import Any

from intake.config import Settings
from intake.models import DecisionKind, Step
from intake.triage_card import build_triage_card, element, escape_markdown, load_card
from intake.triage_rules import (
    CHOICE_LABELS,
    DECISION_LABELS,
    TriageState,
    TriageStep,
    scrum_master_teams_ids,
    tally_text,
)


def triage_view(
    state: TriageState, settings: Settings, *, scrum_master: bool = False, notice: str = ""
) -> dict[str, Any]:
    """The card for everyone (``scrum_master=False``: the channel message) or for a scrum
    master; ``notice`` is a line for the clicker alone (a refusal, a missing input)."""
    record = state.record
    work_item_id = record.work_item_id or 0
    card = build_triage_card(record.request, work_item_id, _work_item_url(state))
    card["refresh"]["userIds"] = scrum_master_teams_ids(settings, state.scrum_master_ids)
    body: list[dict[str, Any]] = card["body"]
    if notice:
        note = load_card("notice")
        note["text"] = escape_markdown(notice)
        body.insert(1, note)
    element(card, "tally")["text"] = tally_text(state.votes)
    if state.votes:
        voters = load_card("voters")
        voters["facts"] = [
            {"title": escape_markdown(vote.voter_name), "value": CHOICE_LABELS[vote.choice]}
            for vote in state.votes
        ]
        body.append(voters)
    decision = state.decision
    if decision is not None:
        # Decided: the vote buttons go (and the server refuses late votes anyway).
        card["actions"] = [a for a in card["actions"] if a["type"] != "Action.Execute"]
        body.append(_outcome(state))
    if scrum_master and decision is None:
        body.append(_with_request_id(load_card("scrum_master_decide"), record.request.id))
    elif scrum_master and state.awaits_plan:
        body.append(_with_request_id(load_card("scrum_master_plan"), record.request.id))
    return card


def _outcome(state: TriageState) -> dict[str, Any]:
    decision = state.decision
    assert decision is not None
    outcome = load_card("outcome")
    items = {item["id"]: item for item in outcome["items"]}
    items["outcome-title"]["text"] = (
        f"Decided: {DECISION_LABELS[decision.kind]}, by {escape_markdown(decision.by_name)}"
    )
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
        lines.extend(_plan_lines(state))
    elif decision.kind is DecisionKind.NOT_OUR_PROBLEM:
        lines.append(f"Root cause: {escape_markdown(decision.root_cause)}")
        if state.is_finished(decision):
            lines.append("The request is closed and the client was told by email.")
    elif decision.kind is DecisionKind.BUG_OR_FEATURE:
        created = state.result(TriageStep.CREATE_BUG_OR_FEATURE)
        if created:
            lines.append(f"{created['type']} #{created['id']} created and linked.")
            links.append(_link(f"Open {created['type']} #{created['id']}", created["url"]))
        if state.result(TriageStep.EMAIL_CLIENT):
            lines.append("The client was told by email.")
    items["outcome-detail"]["text"] = "\n\n".join(lines)
    if links:
        items["outcome-links"]["actions"] = links
    else:
        outcome["items"] = [item for item in outcome["items"] if item["id"] != "outcome-links"]
    return outcome


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


def _plan_lines(state: TriageState) -> list[str]:
    plan = state.plan
    if plan is None:
        return ["Waiting for the scrum master: sprint-urgent, or handle during the sprint."]
    by = escape_markdown(plan.by_name)
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
