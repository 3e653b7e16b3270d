"""The local pages as people first meet Intake: the overview says what triage made of each
request (and filters and searches), the board names links as DevOps does and links mentions
to the person, and every page fits a 390 px phone and a 1280 px screen (a real browser)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import SAMPLE, sample_submission
from tests.e2e.browser import watched_page

pytestmark = pytest.mark.e2e
WIDTHS = (390, 1280)


@pytest.fixture
def triaged(local_host) -> dict[str, str]:
    """Three requests: one proceeded (PBI with two Tasks, sprint-urgent), one closed as not
    our problem, one waiting for triage. Returns their request ids by outcome."""
    ids = {}
    for name, submission in (
        ("pbi", SAMPLE),
        (
            "closed",
            sample_submission(
                responseId="closed-1",
                title="Typo on the staging login page",
                severity="Low",
                client_name="Pat Northwind",
                client_email="pat@northwind.example",
            ),
        ),
        ("waiting", sample_submission(responseId="waiting-1", title="Export is slow")),
    ):
        receipt = local_host.submit(submission).json()
        local_host.wait_until_done(receipt["requestId"])
        ids[name] = receipt["requestId"]
    pbi_thread = local_host.thread_of(ids["pbi"])
    local_host.click(pbi_thread, "Morgan", "create_pbi", {"tasks": "Add index\nLoad test"})
    local_host.wait_until_idle()
    local_host.click(pbi_thread, "Morgan", "sprint_urgent")
    closed_thread = local_host.thread_of(ids["closed"])
    local_host.click(closed_thread, "Morgan", "close_not_our_problem", {"rootCause": "Cache"})
    local_host.wait_until_idle()
    return ids


def rows(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return body.split("<tr")[1:]


def test_the_overview_shows_each_outcome_severity_client_and_age(local_host, triaged):
    page = local_host.page("/dev/")
    (pbi,) = [w for w in local_host.work_items() if w["type"] == "Product Backlog Item"]
    by_id = {rid: next(r for r in rows(page) if rid in r) for rid in triaged.values()}
    assert f"PBI #{pbi['id']}, sprint-urgent</a>" in by_id[triaged["pbi"]]
    assert "Closed: not our problem" in by_id[triaged["closed"]]
    assert "Waiting for triage" in by_id[triaged["waiting"]]
    assert ">Low<" in by_id[triaged["closed"]] and ">High<" in by_id[triaged["pbi"]]
    assert "Pat Northwind" in by_id[triaged["closed"]]
    assert "pat@northwind.example" in by_id[triaged["closed"]]
    assert all(re.search(r'data-label="Age">\d+ (min|h|d)<', r) for r in by_id.values())
    assert "<script" not in page  # the CSP allows no inline script; the filter is a GET form


def test_the_overview_filters_by_outcome_and_searches_by_text(local_host, triaged):
    only_pbi = rows(local_host.page("/dev/?outcome=pbi"))
    assert len(only_pbi) == 1 and triaged["pbi"] in only_pbi[0]
    waiting = rows(local_host.page("/dev/?outcome=waiting"))
    assert len(waiting) == 1 and triaged["waiting"] in waiting[0]
    found = rows(local_host.page("/dev/?q=NORTHWIND"))  # any case; the client's email too
    assert len(found) == 1 and triaged["closed"] in found[0]
    assert len(rows(local_host.page("/dev/?q=export+is"))) == 1
    none = rows(local_host.page("/dev/?outcome=bug&q=%3Cb%3E"))
    assert len(none) == 1 and "No request matches." in none[0]
    assert 'value="&lt;b&gt;"' in local_host.page("/dev/?q=%3Cb%3E")  # the typed text, escaped
    assert len(rows(local_host.page("/dev/?outcome=nonsense"))) == 3  # unknown: any


def test_the_board_names_links_as_devops_and_mentions_link_to_the_person(local_host, triaged):
    page = local_host.page("/dev/board")
    items = {w["id"]: w for w in local_host.work_items()}
    (pbi,) = [w for w in items.values() if w["type"] == "Product Backlog Item"]
    tasks = [w for w in items.values() if w["type"] == "Task"]
    request = local_host.work_item(1)

    def article(work_item_id: int) -> str:
        return page.split(f'id="work-item-{work_item_id}"', 1)[1].split("</article>", 1)[0]

    # A Task's parent link is Hierarchy-Reverse on the Task's side.
    for task in tasks:
        assert (
            f'<span class="link-name" title="System.LinkTypes.Hierarchy-Reverse">Parent</span> '
            f'<a href="#work-item-{pbi["id"]}">Product Backlog Item #{pbi["id"]}</a>'
        ) in article(task["id"])
        assert "Hierarchy-Forward" not in article(task["id"])
    assert article(pbi["id"]).count('title="System.LinkTypes.Hierarchy-Forward">Child<') == 2
    assert 'title="System.LinkTypes.Related">Related</span> <a href="#work-item-1">' in (
        article(pbi["id"])
    )
    relations = {(r["name"], r["id"]) for r in local_host.work_item(tasks[0]["id"])["relations"]}
    assert relations == {("Parent", pbi["id"])}
    # The mention of the coordinator links to them, not to "#".
    assert any("data-vss-mention" in c["html"] for c in request["comments"])
    assert '<a href="mailto:casey@contoso.example" class="mention"' in article(1)
    assert 'href="#" data-vss-mention' not in page


def page_fits(page: Any) -> list[str]:
    """What overflows the page's width (nothing should)."""
    return page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          const wide = [];
          if (document.documentElement.scrollWidth > width + 1) wide.push('the page');
          for (const e of document.querySelectorAll('main *')) {
            if (e.closest('.scroll, .description, details:not([open])')) continue;
            const box = e.getBoundingClientRect();
            if (box.width > 0 && box.right > width + 1) wide.push(e.tagName + ' ' + e.className);
          }
          return wide.slice(0, 5);
        }"""
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_overview_board_and_outbox_fit_a_phone_and_a_screen(
    local_host, triaged, browser, width, tmp_path
):
    with watched_page(browser, width, 900, tmp_path / f"pages-{width}.png") as (page, problems):
        for path in ("/dev/", "/dev/board", "/dev/outbox"):
            page.goto(f"{local_host.base_url}{path}")
            page.wait_for_load_state("load")
            assert page_fits(page) == [], (path, width)
        # Each coordinator email's "Open in DevOps" link is whole inside its frame.
        frames = page.locator('iframe.email-frame[title^="New request"]')
        assert frames.count() == 3
        for index in range(frames.count()):
            frame = frames.nth(index)
            frame.scroll_into_view_if_needed()
            frame_box = frame.bounding_box()
            link = frame.content_frame.get_by_role("link", name=re.compile("in DevOps"))
            link_box = link.bounding_box()
            assert frame_box is not None and link_box is not None
            bottom = frame_box["y"] + frame_box["height"]
            assert link_box["y"] + link_box["height"] <= bottom, (width, index)
            assert link_box["x"] + link_box["width"] <= frame_box["x"] + frame_box["width"]
        assert problems == []
