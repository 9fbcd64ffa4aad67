"""In a real browser: an admin sets up a Slack channel (and tests it) and a rule, then watches
an alert open on the alert page without reloading, follows its evidence, and sees it resolve.
Beat's evaluation is run by the test between the steps, as beat would every 30 seconds."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.services import alerts_evaluate
from calls.models import WebhookDelivery
from portal.models import Role
from tests.e2e.pages import check_page, sign_in
from tests.factories import UserFactory, WebhookDeliveryFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
LIVE = 2000  # ms: a change must be on screen within two seconds


def test_an_admin_sets_up_a_rule_and_watches_an_alert_open_and_resolve(
        live_server, browser, receiver):
    from playwright.sync_api import expect

    UserFactory(username="ada", role=Role.ADMIN)
    page = browser.new_context().new_page()
    page.set_default_timeout(10000)
    sign_in(page, live_server.url, "ada", "/settings/")

    page.get_by_role("navigation", name="Every setting").get_by_role("link", name="Alerts").click()
    page.get_by_role("link", name="Add a channel").click()
    page.get_by_label("Name").fill("Ops chat")
    page.get_by_label("Kind").select_option("slack")
    page.get_by_label("Addresses or URL").fill(receiver.url)
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Send a test").click()
    expect(page.get_by_text("Test notification sent to “Ops chat”.")).to_be_visible()
    assert json.loads(receiver.received[0].body)["text"].startswith("*Callboard test")

    page.get_by_role("link", name="Webhook deliveries rejected").click()
    page.get_by_label("Name").fill("Webhooks refused")
    page.get_by_label("Threshold").fill("2")
    page.get_by_label("Ops chat").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Alert rule “Webhooks refused” saved.")).to_be_visible()

    page.get_by_role("link", name="Alerts", exact=True).first.click()
    expect(page.get_by_text("Nothing has fired")).to_be_visible()
    problems = check_page(page, "alerts-empty", screenshots=False)

    # A provider's webhooks start failing their signature check; beat's next evaluation.
    WebhookDeliveryFactory.create_batch(2, verified=False,
                                        rejection_reason="bad signature: not ours")
    alerts_evaluate()
    row = page.locator("#alert-log tbody tr").first
    expect(row, "the alert appears without a reload").to_contain_text("Open", timeout=LIVE)
    expect(row).to_contain_text("2 webhook deliveries rejected (bad signature)")
    problems += check_page(page, "alerts")

    # The evidence: the rejected deliveries.
    row.get_by_role("link", name="Evidence").click()
    expect(page.get_by_text("bad signature: not ours").first).to_be_visible()
    page.go_back()

    # The deliveries fall out of the window: the next evaluation resolves the alert.
    WebhookDelivery.objects.update(received_at=timezone.now() - timedelta(hours=1))
    alerts_evaluate()
    expect(row, "resolved without a reload").to_contain_text("Resolved", timeout=LIVE)
    page.context.close()
    assert not problems, "\n".join(problems)


def test_the_rule_form_gives_the_threshold_unit_of_the_chosen_kind_only(live_server, browser):
    """The form listed the units of all seven kinds under "What to watch", whichever was
    chosen; without JavaScript it still does (the page cannot know a change of choice)."""
    from playwright.sync_api import expect

    UserFactory(username="ada", role=Role.ADMIN)
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    sign_in(page, live_server.url, "ada", "/settings/alerts/rules/new")
    unit = page.locator("#id_threshold_helptext")

    expect(unit).to_have_text(
        "In rejected deliveries of one reason in the window; the rule fires at or above it.")
    page.get_by_label("What to watch").select_option("heartbeat_silent")
    expect(unit).to_have_text(
        "In seconds without a heartbeat (beat schedules one a minute); the rule fires at or "
        "above it.")
    expect(page.get_by_text("% of an account's calls", exact=False)).to_have_count(0)
    described = page.get_by_label("Threshold").get_attribute("aria-describedby")
    assert "id_threshold_helptext" in described.split()

    # Started from a kind (the rules page links each to the form): its unit from the start.
    page.goto(f"{live_server.url}/settings/alerts/rules/new?kind=calls_failing")
    expect(unit).to_contain_text("In % of an account's calls ended in the window")
    assert not errors, "\n".join(errors)  # the script is a file: our CSP lets it run

    # Without JavaScript, every kind's unit, each named.
    context.close()
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server.url, "ada", "/settings/alerts/rules/new")
    expect(page.locator("#id_threshold_helptext")).to_contain_text(
        "Worker or beat silent: seconds without a heartbeat")
    expect(page.locator("#id_threshold_helptext")).to_contain_text(
        "Calls failing: % of an account's calls")
    context.close()
