"""The client's status page in a real browser (Debian's chromium, headless, driven by
playwright, as test_channel_browser.py), on a phone (390 px) and a desktop (1280 px): axe-core
(the npm package, from node_modules) finds no serious or critical violation, the page never
scrolls sideways, and its own Content-Security-Policy blocks nothing it needs (no console
error). A missing chromium or axe-core fails this test, it does not skip."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import ROOT, sample_submission
from tests.e2e.browser import watched_page

pytestmark = pytest.mark.e2e
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
LINK = re.compile(r"(https?://[^\s\"<>]+/api/status/[A-Za-z0-9_-]+)")
CLIENT = "pat.newcomer@fabrikam.example"
# A long unbroken word (a pasted reference) must wrap, not push the page sideways.
LONG_WORD = "ERR_" + "X" * 120


def act(client: Any, method: str, path: str, body: dict[str, Any], status: int) -> None:
    answer = client.http.request(method, f"{client.base_url}{path}", json=body, timeout=60)
    assert answer.status_code == status, answer.text


def a_status_link_with_history(client: Any) -> str:
    """A request with every kind of entry: intake emails, a state change, a #client comment."""
    act(client, "POST", "/dev/api/clock", {"now": "2026-12-07T09:00:00Z"}, 200)
    title = f"Reports page is blank after the upgrade {LONG_WORD}"
    receipt = client.submit(sample_submission(client_email=CLIENT, title=title)).json()
    client.wait_until_done(receipt["requestId"])
    by = "morgan@contoso.example"
    act(client, "PATCH", "/dev/api/workitems/1", {"by": by, "state": "On Hold"}, 200)
    comment = f"#client Could you send us the error code? It looked like {LONG_WORD}.\nThanks!"
    act(client, "POST", "/dev/api/workitems/1/comments", {"by": by, "text": comment}, 201)
    act(client, "POST", "/dev/api/clock", {"now": "2026-12-07T09:05:00Z"}, 200)
    act(client, "POST", "/dev/api/clock", {"now": "2026-12-07T09:10:00Z"}, 200)
    latest = [m for m in client.outbox() if m["to"] == [CLIENT]][-1]
    (link,) = set(LINK.findall(latest["text"]))
    return str(link)


@pytest.mark.parametrize("width", [390, 1280])
def test_the_status_page_is_accessible_and_fits_phone_and_desktop(
    local_host, browser, tmp_path, width
):
    assert AXE.exists(), "axe-core is missing: `npm ci` installs it (package.json)"
    link = a_status_link_with_history(local_host)
    with watched_page(browser, width, 900, tmp_path / f"status-{width}.png") as (page, problems):
        answer = page.goto(link)
        assert answer is not None and answer.status == 200
        page.get_by_text("Could you send us the error code?").wait_for()
        assert page.get_by_text("Status: Waiting for information").count() == 1
        # The page's stylesheet applied under its own CSP (its hash), not blocked.
        assert page.evaluate("getComputedStyle(document.querySelector('main')).borderRadius")
        sideways = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert sideways <= 0, f"{sideways}px of horizontal scroll at {width}px"

        # axe-core evaluated through the browser's debugging protocol, which the page's CSP
        # (no script at all) does not govern: the page is tested exactly as served.
        page.evaluate(AXE.read_text(encoding="utf-8"))
        results = page.evaluate(
            "() => axe.run(document, {resultTypes: ['violations']})"
            ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.map(n => n.target.join(' '))})))"
        )
        grave = [v for v in results if v["impact"] in ("serious", "critical")]
        assert grave == [], grave
        assert problems == []
