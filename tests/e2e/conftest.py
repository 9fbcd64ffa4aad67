"""One Chromium per test module: launching it costs a second, a new context costs nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

CHROMIUM = {"executable_path": "/usr/bin/chromium",
            "args": ["--no-sandbox", "--disable-background-networking"]}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    playwright = pytest.importorskip("playwright.sync_api")
    with pytest.MonkeyPatch.context() as patch, playwright.sync_playwright() as p:
        # Playwright's sync API keeps an event loop in this thread; the ORM calls a test
        # makes between browser steps are still plain synchronous code.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        launched = p.chromium.launch(**CHROMIUM)
        yield launched
        launched.close()
