"""Browser tests: Playwright's Python API driving Debian's headless Chromium (/usr/bin/chromium,
installed by .ci/install-browser; Playwright's own browser downloads are never used) against
pytest-django's live server. Skipped, saying why, where no Chromium is installed."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which(
    "chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]
PASSWORD = "correct horse battery staple"  # noqa: S105 - UserFactory's test password

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the dev extras install it
    sync_playwright = None

pytestmark = pytest.mark.browser


def _skip_reason() -> str | None:
    if sync_playwright is None:
        return "the playwright package is not installed (pip install -e .[dev])"
    if CHROMIUM is None:
        return ("no Chromium: install Debian's package (bash .ci/install-browser, run by "
                ".ci/run) or set CHROMIUM=/path/to/chromium")
    return None


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the session (Playwright gives each launch a fresh temporary
    profile: the --user-data-dir it manages itself)."""
    if reason := _skip_reason():
        if os.environ.get("SWITCHBOARD_REQUIRE_BROWSER"):  # CI installed one: missing = broken
            pytest.fail(reason)
        pytest.skip(reason)
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between browser steps are plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    # The live server speaks plain HTTP and builds its middleware once, possibly before any
    # test's settings fixture runs: no HTTPS redirect or secure-only cookies for the session.
    from django.conf import settings

    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_HSTS_SECONDS = 0
    assert sync_playwright is not None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium: Any, live_server: Any) -> Iterator[Any]:
    """new_page() -> a page in its own browser context (own cookies: one per user)."""
    contexts = []

    def make() -> Any:
        context = chromium.new_context(base_url=live_server.url, accept_downloads=True,
                                       viewport={"width": 1400, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def log_in(page: Any, username: str) -> None:
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state()
