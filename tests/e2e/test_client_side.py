"""The client's side over HTTP: a whole flow (intake, a decision, then a #client comment and a
state change by a person) on the local host, and every email the client got links to their
status page, never to the work item or anywhere in DevOps."""

from __future__ import annotations

import re

import pytest

from tests.conftest import sample_submission

pytestmark = pytest.mark.e2e
LINK = re.compile(r"(https?://[^\s\"<>]+/api/status/[A-Za-z0-9_-]+)")
CLIENT = "pat.newcomer@fabrikam.example"  # no DevOps identity: the planning words go by email
COORDINATOR = "casey@contoso.example"


@pytest.mark.parametrize(
    ("verb", "data", "last_subject"),
    [
        ("close_not_our_problem", {"rootCause": "Their proxy drops TLS"}, "Your request is closed"),
        ("create_bug_or_feature", {"bugOrFeature": "bug"}, "Your request is now bug #2"),
    ],
)
def test_no_client_email_of_a_whole_flow_links_to_the_work_item(
    local_host, verb, data, last_subject
):
    title = "Reports page is blank"
    local_host.set_clock("2026-12-07T09:00:00Z")
    receipt = local_host.submit(sample_submission(client_email=CLIENT, title=title)).json()
    local_host.wait_until_done(receipt["requestId"])
    thread = local_host.thread_of(receipt["requestId"])
    local_host.click(thread, "Morgan", verb, data)
    local_host.wait_until_idle()
    # Then people in DevOps: a #client comment naming DevOps addresses, and a state change.
    board = f"{local_host.base_url}/dev/board#work-item-1"
    person(local_host, "comments", text=f"#client Fixed, see {DEVOPS_URL} and {board}")
    person(local_host, "", state="Active")
    local_host.set_clock("2026-12-07T09:05:00Z")
    local_host.set_clock("2026-12-07T09:10:00Z")

    outbox = local_host.outbox()
    to_client = [m for m in outbox if m["to"] == [CLIENT]]
    assert [m["subject"] for m in to_client] == [
        f"We received your request #1: {title} [#1]",
        "Your request is being triaged [#1]",
        f"{last_subject} [#1]",
        "A message about your request [#1]",
        "Your request is now: In progress [#1]",
    ]
    work_item = local_host.work_item(1)
    # Locally the work item's page is on the same host as the status page, so the check is
    # on the work item's own URL (and the board's path), not only on a DevOps host name.
    for message in to_client:
        body = message["html"] + message["text"]
        assert work_item["url"] not in body and "/dev/board" not in body
        assert "dev.azure.com" not in body and "contoso.visualstudio.com" not in body
        assert message["reply_to"] == ["intake@contoso.example"]
        assert message["headers"]["Auto-Submitted"] == "auto-generated"
        links = set(LINK.findall(body))
        assert len(links) == 1, links
        page = local_host.http.get(links.pop(), timeout=10)
        assert page.status_code == 200
        assert f"Request #1: {title}" in page.text
        assert page.headers["Cache-Control"] == "private, no-store"
    (coordinator,) = [m for m in outbox if m["to"] == [COORDINATOR]]
    assert work_item["url"] in coordinator["html"]  # staff keep their DevOps link


DEVOPS_URL = "https://dev.azure.com/contoso/Intake/_workitems/edit/1"


def person(client, what: str, **body: str) -> None:
    """Morgan acts on work item 1 on the local board (a PATCH, or a POST of ``comments``)."""
    url = f"{client.base_url}/dev/api/workitems/1" + (f"/{what}" if what else "")
    act = client.http.post if what else client.http.patch
    answer = act(url, json={"by": "morgan@contoso.example", **body}, timeout=10)
    assert answer.status_code in (200, 201), answer.text


def test_a_bad_status_link_gets_a_not_found_page(local_host):
    page = local_host.http.get(f"{local_host.base_url}/api/status/not-a-token", timeout=10)
    assert page.status_code == 404
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Page not found" in page.text
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
