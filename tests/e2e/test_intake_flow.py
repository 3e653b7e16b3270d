"""One submission, every side effect exactly once, over HTTP against the local host."""

from __future__ import annotations

import pytest

from tests.conftest import SAMPLE, sample_submission

pytestmark = pytest.mark.e2e


def test_one_submission_creates_every_side_effect_exactly_once(local_host):
    answer = local_host.submit(SAMPLE)
    assert answer.status_code == 202
    receipt = answer.json()
    assert answer.headers["Location"] == receipt["statusUrl"]
    status = local_host.wait_until_done(receipt["requestId"])
    assert status["status"] == "done", status

    (work_item,) = local_host.work_items()
    number = work_item["id"]
    assert status["workItemId"] == number
    assert work_item["state"] == "In Planning"
    assert work_item["title"] == "Invoices page times out for EU customers"
    assert work_item["fields"]["Microsoft.VSTS.Common.Priority"] == 2  # severity High
    assert "intake" in work_item["fields"]["System.Tags"]
    assert work_item["fields"]["Custom.ClientEmail"] == "jordan.rivera@fabrikam.example"
    (comment,) = work_item["comments"]
    assert 'data-vss-mention="version:2.0,' in comment["html"]
    assert "@Jordan Rivera" in comment["html"]
    assert "we will triage this request and reach out" in comment["html"].lower()

    emails = local_host.outbox()
    assert sorted(m["to"][0] for m in emails) == [
        "casey@contoso.example",
        "jordan.rivera@fabrikam.example",
    ]
    client = next(m for m in emails if m["to"] == ["jordan.rivera@fabrikam.example"])
    coordinator = next(m for m in emails if m["to"] == ["casey@contoso.example"])
    assert f"#{number}" in client["subject"] and f"#{number}" in client["text"]
    assert f"#{number}" in coordinator["subject"]
    assert work_item["url"] in coordinator["html"] and work_item["url"] in coordinator["text"]

    (thread,) = local_host.threads()
    texts = [item.get("text", "") for item in thread["card"]["body"]]
    assert texts[0] == (
        f"Urgent: can someone please have a look at the Production Support ticket #{number} "
        "and let me know what we should do with this one"
    )
    titles = [a["title"] for a in thread["card"]["actions"] if a["type"] == "Action.Execute"]
    assert titles == ["Not our problem", "Bug / Feature", "Proceed"]

    for page in ("/dev/", "/dev/board", "/dev/outbox", "/dev/channel"):
        assert "Invoices page times out" in local_host.page(page)


def test_the_same_submission_again_creates_nothing_new(local_host):
    first = local_host.submit(SAMPLE).json()
    local_host.wait_until_done(first["requestId"])
    again = local_host.submit(SAMPLE)
    assert again.status_code == 200
    assert again.json()["requestId"] == first["requestId"]
    assert again.json()["duplicate"] is True
    local_host.wait_until_idle()
    assert len(local_host.work_items()) == 1
    assert len(local_host.outbox()) == 2
    assert len(local_host.threads()) == 1


def test_a_client_unknown_to_devops_is_told_by_email_and_named_in_the_comment(local_host):
    submission = sample_submission(
        client_email="pat@northwind.example", client_name="Pat <b>O'Neil</b>", responseId="77"
    )
    receipt = local_host.submit(submission).json()
    local_host.wait_until_done(receipt["requestId"])
    (work_item,) = local_host.work_items()
    (comment,) = work_item["comments"]  # the work item tells the whole story (issue 12)
    assert comment["mention"] is None
    assert "Pat &lt;b&gt;O&#39;Neil&lt;/b&gt; (pat@northwind.example)" in comment["html"]
    assert "they were told by email" in comment["html"]
    to_client = [m for m in local_host.outbox() if m["to"] == ["pat@northwind.example"]]
    assert len(to_client) == 2
    assert any("we will triage this request" in m["text"].lower() for m in to_client)


def test_text_that_looks_like_html_is_kept_as_typed_and_shown_escaped(local_host):
    title = "<script>alert(1)</script> qty < 5 & price > 3"
    receipt = local_host.submit(sample_submission(title=title, responseId="html-1")).json()
    local_host.wait_until_done(receipt["requestId"])
    (work_item,) = local_host.work_items()
    assert work_item["title"] == title
    description = work_item["fields"]["System.Description"]
    assert "<script>" not in description
    assert "&lt;script&gt;alert(1)&lt;/script&gt; qty &lt; 5 &amp; price &gt; 3" in description
    for email in local_host.outbox():
        assert "<script>" not in email["html"]
    board = local_host.page("/dev/board")
    assert "<script>alert(1)" not in board
    (thread,) = local_host.threads()
    card_title = thread["card"]["body"][1]["text"]
    assert "\\<script\\>" in card_title
