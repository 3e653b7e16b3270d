"""/dev/channel in a real browser: Debian's chromium, headless, driven by playwright.

A person picks who they are and clicks: Alex votes Proceed, Morgan (scrum master) sees the
decision actions, types two Tasks and creates the PBI, and the card shows the outcome. The
page's cards are drawn by the official Adaptive Cards renderer, and each click is the invoke
Teams sends. No browser is downloaded: a missing /usr/bin/chromium fails this test (CI installs
it with apt-get), it does not skip.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLE

pytestmark = pytest.mark.e2e
CHROMIUM = Path("/usr/bin/chromium")
WAIT_MS = 15_000  # the page polls the channel every 2 s


@pytest.fixture
def browser() -> Any:
    assert CHROMIUM.exists() or shutil.which("chromium"), (
        "chromium is missing: `apt-get install -y chromium` (Debian) runs this test"
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
            args=["--no-sandbox"],  # CI containers run as root
        )
        yield browser
        browser.close()


def test_a_vote_and_a_create_pbi_click_in_the_browser(local_host, browser, tmp_path):
    receipt = local_host.submit(SAMPLE).json()
    local_host.wait_until_done(receipt["requestId"])
    page = browser.new_page(viewport={"width": 1000, "height": 1400})
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    try:
        page.goto(f"{local_host.base_url}/dev/channel?as=29:1-alex-local")
        page.get_by_role("button", name="Proceed").click(timeout=WAIT_MS)
        page.get_by_text("Proceed 1", exact=False).wait_for(timeout=WAIT_MS)
        assert page.get_by_text("Scrum master: decide").count() == 0  # staff view

        page.select_option("#person", "29:1-morgan-local")
        page.get_by_text("Scrum master: decide").wait_for(timeout=WAIT_MS)
        show = page.get_by_role("button", name="Create PBI").first
        # The Show-card arrow is a character every font has (not a missing icon-font glyph).
        arrow = show.evaluate("b => getComputedStyle(b, '::after').content")
        assert arrow in ('"\u00a0▾"', '" ▾"'), arrow
        show.click()
        page.locator("textarea").fill("Find the slow query\nAdd an index")
        page.get_by_role("button", name="Create PBI").nth(1).click()
        page.get_by_text("PBI #2 created and linked, with 2 tasks.").wait_for(timeout=WAIT_MS)
        page.get_by_text("Scrum master: when does the PBI get done?").wait_for(timeout=WAIT_MS)
        assert page.get_by_role("button", name="Sprint-urgent").is_visible()
        assert problems == []
    finally:
        page.screenshot(path=str(tmp_path / "channel.png"), full_page=True)
        page.close()
    pbi = next(w for w in local_host.work_items() if w["type"] == "Product Backlog Item")
    assert pbi["id"] == 2
