"""A real browser for the e2e tests of the local pages: Debian's chromium, headless, driven by
playwright. No browser is downloaded: a missing /usr/bin/chromium fails the test (CI installs
it with apt-get), it does not skip."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def browser() -> Iterator[Any]:
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


@contextmanager
def watched_page(
    browser: Any, width: int, height: int, screenshot: Path
) -> Iterator[tuple[Any, list[str]]]:
    """A new page of ``width`` x ``height`` px and the list of what went wrong in it (script
    errors, console errors); its screenshot is saved to ``screenshot``, pass or fail."""
    page = browser.new_page(viewport={"width": width, "height": height})
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    try:
        yield page, problems
    finally:
        page.screenshot(path=str(screenshot), full_page=True)
        page.close()
