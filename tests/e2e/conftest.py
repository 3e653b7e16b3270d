"""Fixtures of the e2e tests: the headless chromium of the browser tests."""

from tests.e2e.browser import browser  # noqa: F401 - registers the fixture
