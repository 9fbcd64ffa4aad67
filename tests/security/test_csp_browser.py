"""In a real browser: every page works under the Content-Security-Policy.

An admin signs in and the crawler follows every same-site link from the dashboard (each
path once), including the API docs and the Django admin; the browser must report no
Content Security Policy violation and no script error on any of them.
"""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest

from portal.models import Role
from tests.factories import PASSWORD, UserFactory
from tests.security.world import build_world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHROMIUM = {"executable_path": "/usr/bin/chromium",
            "args": ["--no-sandbox", "--disable-background-networking"]}
# Not pages: signing out, downloads, provider-facing endpoints, destructive admin pages.
SKIP = re.compile(
    r"/logout/|\.csv$|^/hooks/|^/sandbox/v|^/sandbox/account|^/sandbox/number|"
    r"^/api/v1/(?!docs/)|/delete/$|/history/$|^/static/|^/healthz"
)
EXTRA_START_PAGES = ["/api/v1/docs/", "/django-admin/", "/profile/"]
MAX_PAGES = 200


@pytest.fixture
def browser(monkeypatch):
    playwright = pytest.importorskip("playwright.sync_api")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the ORM between browser steps
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(**CHROMIUM)
        yield browser
        browser.close()


def test_every_page_works_under_the_content_security_policy(live_server, browser):
    admin = UserFactory(username="root", role=Role.ADMIN)
    build_world(admin)
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"{page.url}: {msg.text}")
            if msg.type == "error" and not msg.location["url"].endswith("/favicon.ico")
            else None)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")

    visited = crawl(page, live_server.url)

    csp = [p for p in problems if "Content Security Policy" in p]
    assert csp == [], "\n".join(csp)
    assert problems == [], "\n".join(problems)
    assert len(visited) > 40, visited  # the crawl really went through the portal
    for expected in ("/calls/", "/accounts/", "/nccos/", "/settings/", "/django-admin/"):
        assert expected in visited


def crawl(page, base: str) -> list[str]:
    """Visit every same-site path reachable from the dashboard once; return the paths."""
    queue = deque(["/", *EXTRA_START_PAGES])
    seen = set(queue)
    visited = []
    while queue and len(visited) < MAX_PAGES:
        path = queue.popleft()
        response = page.goto(base + path, wait_until="load")
        assert response is not None and response.status < 500, (path, response)
        assert "default-src 'self'" in response.headers.get("content-security-policy", "")
        visited.append(path)
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
            url = urlsplit(urljoin(base + path, href))
            if url.netloc != urlsplit(base).netloc or SKIP.search(url.path):
                continue
            if url.path not in seen:
                seen.add(url.path)
                queue.append(url.path + (f"?{url.query}" if url.query else ""))
    return visited
