"""In a real browser: an admin opens System status from the user menu, reads that no worker is
running and what to do, and watches the page say so no more once a worker reports, then
notice a webhook backlog, without reloading; the page fits a phone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from portal.health import HEARTBEAT_KEY
from portal.models import Role
from tests.e2e.pages import check_page, sign_in
from tests.factories import UserFactory, WebhookDeliveryFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
LIVE = 15000  # ms: the page polls every 5 s; a loaded machine answers slower


def test_an_admin_watches_the_system_status_change_without_reloading(live_server, browser,
                                                                      settings):
    from playwright.sync_api import expect

    # The Workers reading is the heartbeat in the cache, which a worker an earlier test of this
    # process started keeps fresh: a cache of this test's own starts with no worker reporting.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "e2e-status"}}
    UserFactory(username="ada", role=Role.ADMIN)
    page = browser.new_context().new_page()
    page.set_default_timeout(10000)
    sign_in(page, live_server.url, "ada")

    page.locator(".usermenu summary").click()
    page.get_by_role("link", name="System status").click()
    expect(page.get_by_role("heading", name="Down Something is not working")).to_be_visible()
    workers = page.locator("dt", has_text="Workers").locator("xpath=following-sibling::dd[1]")
    expect(workers).to_contain_text("No worker is taking tasks")
    expect(workers).to_contain_text("make run starts one")
    problems = check_page(page, "status", screenshots=False)
    page.evaluate("() => { window.notReloaded = true; }")

    # A worker reporting, kept for the whole test (a consumer refreshes it every 2 s).
    cache.set(HEARTBEAT_KEY, timezone.now().isoformat(), timeout=120)
    expect(workers, "the worker shows without a reload").to_contain_text(
        "A worker is taking tasks.", timeout=LIVE)
    expect(page.get_by_role("heading", name="OK Everything is working")).to_be_visible()

    WebhookDeliveryFactory(received_at=timezone.now() - timedelta(minutes=5))
    waiting = page.locator("dt", has_text="Webhook deliveries waiting").locator(
        "xpath=following-sibling::dd[1]")
    expect(waiting, "the backlog shows without a reload").to_contain_text(
        "the oldest waits for 5 min", timeout=LIVE)
    expect(page.get_by_role("heading", name="Attention Working, with something to look at")
           ).to_be_visible()
    assert page.evaluate("() => window.notReloaded") is True
    assert problems == []
