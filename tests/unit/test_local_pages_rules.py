"""The local pages' pure rules: a request's outcome and age on the overview, and links named
from each side as DevOps names them on the board."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from intake.dev.board_view import link_names, linked_mentions
from intake.dev.overview import age, outcome_of, overview_rows
from intake.models import Request, RequestRecord, RequestStatus

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def record(steps: dict, *, status: RequestStatus = RequestStatus.DONE, **fields) -> RequestRecord:
    request = Request(
        id=fields.pop("id", "0123456789abcdef"),
        form_id="f",
        response_id="r",
        title=fields.pop("title", "Invoices time out"),
        client_name=fields.pop("client_name", "Jordan Rivera"),
        client_email=fields.pop("client_email", "jordan@fabrikam.example"),
        severity=fields.pop("severity", "High"),
        received_at=NOW - timedelta(hours=5),
    )
    return RequestRecord(request=request, status=status, steps=steps)


def decision(kind: str, **more) -> dict:
    return {"kind": kind, "by_id": "29:m", "by_name": "Morgan", "token": "t", **more}


CREATED = {"create_work_item": {"work_item_id": 1, "url": "u"}}


def test_each_outcome_reads_as_what_triage_made_of_the_request():
    assert outcome_of(record(CREATED)) == ("waiting", "Waiting for triage", None)
    closed = record({**CREATED, "decision": decision("close_not_our_problem", root_cause="x")})
    assert outcome_of(closed)[:2] == ("closed", "Closed: not our problem")
    bug = record(
        {
            **CREATED,
            "decision": decision("create_bug_or_feature", bug_or_feature="bug"),
            "decision.create_bug_or_feature": {"id": 7, "url": "u", "type": "Bug"},
        }
    )
    assert outcome_of(bug) == ("bug", "Bug #7", 7)
    pbi = {**CREATED, "decision": decision("create_pbi"), "decision.create_pbi": {"id": 4}}
    assert outcome_of(record(pbi))[1] == "PBI #4, sprint-urgent or not to decide"
    urgent = record({**pbi, "decision.plan": decision("sprint_urgent")})
    assert outcome_of(urgent) == ("pbi", "PBI #4, sprint-urgent", 4)
    later = record({**pbi, "decision.plan": decision("handle_in_sprint")})
    assert outcome_of(later)[1] == "PBI #4, during the sprint"


def test_the_overview_filters_by_outcome_and_finds_text_in_any_case():
    rows = [
        record(CREATED, id="aaaaaaaaaaaaaaaa"),
        record(CREATED, id="bbbbbbbbbbbbbbbb", client_name="Pat", client_email="pat@nw.example"),
        record({}, id="cccccccccccccccc", status=RequestStatus.FAILED, title="Broken"),
    ]
    assert [r.request_id for r in overview_rows(rows, NOW, text="  NW.EXAMPLE ")] == [
        "bbbbbbbbbbbbbbbb"
    ]
    assert [r.outcome for r in overview_rows(rows, NOW, outcome="failed")] == ["failed"]
    assert len(overview_rows(rows, NOW, outcome="waiting")) == 2
    assert overview_rows(rows, NOW)[0].age == "5 h"


def test_age_reads_as_people_say_it():
    assert age(NOW - timedelta(seconds=59), NOW) == "0 min"
    assert age(NOW - timedelta(minutes=90), NOW) == "1 h"
    assert age(NOW - timedelta(days=3, hours=2), NOW) == "3 d"
    assert age(None, NOW) == ""


def test_a_link_is_named_from_each_side_as_devops_names_it():
    links = [
        {"source_id": 2, "target_id": 3, "relation": "System.LinkTypes.Hierarchy-Forward"},
        {"source_id": 1, "target_id": 2, "relation": "System.LinkTypes.Related"},
    ]
    assert link_names(2, links) == [
        {"name": "Child", "rel": "System.LinkTypes.Hierarchy-Forward", "id": 3},
        {"name": "Related", "rel": "System.LinkTypes.Related", "id": 1},
    ]
    assert link_names(3, links[:1]) == [
        {"name": "Parent", "rel": "System.LinkTypes.Hierarchy-Reverse", "id": 2}
    ]


def test_a_mention_links_to_the_person_and_an_unknown_one_stays_as_it_was():
    html = (
        '<a href="#" data-vss-mention="version:2.0,id-1">@Casey</a> '
        '<a href="#" data-vss-mention="version:2.0,id-9">@Nobody</a>'
    )
    shown = str(linked_mentions(html, {"id-1": "mailto:casey@contoso.example"}))
    assert '<a href="mailto:casey@contoso.example" class="mention"' in shown
    assert '<a href="#" data-vss-mention="version:2.0,id-9">' in shown
