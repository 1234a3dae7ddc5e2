"""Browser fixtures: one headless Debian Chromium per session, a fresh context
(cookies, storage) per test, and a guard that refuses every off-site request —
a store must work when its internet is down, so no page may need a CDN."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from tests.conftest import chromium_path

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium found (install Debian's 'chromium' package)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def offsite_requests() -> list[str]:
    """URLs the page tried to load from anywhere but the live server (refused)."""
    return []


@pytest.fixture
def page(browser: Browser, live_server, offsite_requests: list[str]) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)

    def local_only(route: Route) -> None:
        url = route.request.url
        if url.startswith((live_server.url, "data:", "blob:")):
            route.continue_()
        else:
            offsite_requests.append(url)
            route.abort()

    context.route("**/*", local_only)
    yield context.new_page()
    context.close()
