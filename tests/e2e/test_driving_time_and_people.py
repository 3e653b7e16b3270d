"""Local mode's levers over HTTP: the frozen clock, a person acting on the local board, the
DevOps service hook, and the follow_up timer's sweep of what changed."""

from __future__ import annotations

import base64
import json

import pytest

from intake.adapters.local_follow_ups import SqliteFollowUps
from tests.conftest import SAMPLE
from tests.problem_shape import assert_problem as problem_shape

pytestmark = pytest.mark.e2e


def assert_problem(answer, status):
    assert answer.status_code == status, answer.text
    problem_shape(answer.status_code, answer.headers, answer.content)


def set_clock(client, now):
    return client.http.post(f"{client.base_url}/dev/api/clock", json={"now": now}, timeout=60)


def test_the_clock_freezes_where_it_is_set_and_refuses_to_go_back(local_host):
    answer = set_clock(local_host, "2026-12-07T10:00:00+01:00")
    assert answer.status_code == 200, answer.text
    assert answer.json()["now"] == "2026-12-07T09:00:00+00:00"
    assert local_host.get("/dev/api/clock") == {"now": "2026-12-07T09:00:00+00:00", "frozen": True}

    later = set_clock(local_host, "2026-12-07T09:10:00Z")
    assert later.status_code == 200
    # 09:05 and 09:10 both fell due: each 5-minute timer ran once.
    assert sorted(later.json()["timersRun"]) == ["follow_up", "resume_stalled"]

    assert_problem(set_clock(local_host, "2026-12-07T09:00:00Z"), 409)
    assert_problem(set_clock(local_host, "2026-12-07T09:20:00"), 422)  # no offset
    bad = local_host.http.post(f"{local_host.base_url}/dev/api/clock", data=b"{", timeout=10)
    assert_problem(bad, 400)


def test_a_person_acting_on_the_board_is_recorded_at_the_clock_and_swept(local_host):
    set_clock(local_host, "2026-12-07T09:00:30Z")
    receipt = local_host.submit(SAMPLE).json()
    local_host.wait_until_done(receipt["requestId"])
    work_item_id = local_host.status(receipt["requestId"])["workItemId"]

    set_clock(local_host, "2026-12-07T09:02:00Z")
    change = local_host.http.patch(
        f"{local_host.base_url}/dev/api/workitems/{work_item_id}",
        json={"by": "morgan@contoso.example", "state": "On Hold"},
        timeout=10,
    )
    assert change.status_code == 200, change.text
    comment = local_host.http.post(
        f"{local_host.base_url}/dev/api/workitems/{work_item_id}/comments",
        json={"by": "morgan@contoso.example", "text": "<b>looking</b>"},
        timeout=10,
    )
    assert comment.status_code == 201

    board = local_host.host.services.work_items
    updates = board.updates(work_item_id)
    mine = [u for u in updates if u["revisedBy"]["uniqueName"] == "morgan@contoso.example"]
    assert [u["fields"]["System.ChangedDate"]["newValue"] for u in mine] == [
        "2026-12-07T09:02:00.000Z",
        "2026-12-07T09:02:00.000Z",
    ]
    assert mine[0]["fields"]["System.State"] == {"oldValue": "In Planning", "newValue": "On Hold"}
    assert "&lt;b&gt;" in mine[1]["fields"]["System.History"]["newValue"]
    assert updates[-1]["revisedDate"] == "9999-01-01T00:00:00Z"
    follow_ups: SqliteFollowUps = local_host.host.services.follow_ups
    assert work_item_id in follow_ups.changed()  # announced as the hook would

    set_clock(local_host, "2026-12-07T09:05:00Z")  # the follow_up timer runs
    # The state change is younger than the client's merge window (5 minutes): marked again,
    # so the next run emails the client; after that run nothing is marked.
    assert list(follow_ups.changed()) == [work_item_id]
    cached = follow_ups.item(work_item_id)
    assert cached is not None and cached.request_id == receipt["requestId"]
    assert len(cached.updates) == len(updates)
    set_clock(local_host, "2026-12-07T09:10:00Z")
    assert follow_ups.changed() == {}


def test_the_service_hook_needs_the_shared_secret(tmp_path):
    from tests.e2e.client import LocalHostClient

    with LocalHostClient.started(tmp_path / "host", devops_hook_secret="s3cret-hook") as client:
        url = f"{client.base_url}/api/devops/hooks"
        event = {"eventType": "workitem.updated", "resource": {"id": 3, "workItemId": 42}}
        anonymous = client.http.post(url, json=event, timeout=10)
        assert_problem(anonymous, 401)
        assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
        wrong = client.http.post(url, json=event, auth=("devops", "nope"), timeout=10)
        assert_problem(wrong, 401)

        right = client.http.post(url, json=event, auth=("devops", "s3cret-hook"), timeout=10)
        assert right.status_code == 202
        assert right.json() == {"eventType": "workitem.updated", "workItemId": 42}
        assert 42 in client.host.services.follow_ups.changed()

        header = "Basic " + base64.b64encode(b"x:s3cret-hook").decode()
        broken = client.http.post(
            url,
            data=json.dumps({"eventType": "workitem.commented", "resource": {}}),
            headers={"Authorization": header},
            timeout=10,
        )
        assert_problem(broken, 422)
