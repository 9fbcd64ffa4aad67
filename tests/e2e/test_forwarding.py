"""An admin subscribes a tool to call events in the browser, copies the secret shown once,
watches the first deliveries appear in the log without reloading, and replays one after
confirming."""

from __future__ import annotations

import pytest

from calls.models import CallStatus
from calls.services.events import call_event_record
from forwarding.models import DeliveryStatus, Subscription
from portal.models import Role
from tests.calls.webhook_helpers import CONVERSATION, UUID, at, vonage_status
from tests.e2e.pages import PHONE, check_page, page_width, sign_in
from tests.factories import (
    CallFactory,
    ForwardingDeliveryFactory,
    ProviderAccountFactory,
    UserFactory,
)
from tests.fakes.receiver import Receiver
from voiceapps.adapters import account_adapter

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_admin_subscribes_a_tool_and_watches_its_deliveries(live_server, browser):
    from playwright.sync_api import expect

    UserFactory(username="ada", role=Role.ADMIN, is_staff=True, is_superuser=True)
    account = ProviderAccountFactory(name="Vonage live")
    call = CallFactory(account=account, status=CallStatus.SUBMITTED, provider_call_id=UUID,
                       conversation_id=CONVERSATION)
    receiver = Receiver().start()
    page = browser.new_context().new_page()
    page.set_default_timeout(10000)
    sign_in(page, live_server.url, "ada")
    page.wait_for_url(f"{live_server.url}/")

    page.locator("details.usermenu summary").click()  # the user menu
    page.get_by_role("link", name="Event forwarding").click()
    page.get_by_role("link", name="New subscription").first.click()
    page.get_by_label("Name").fill("CRM")
    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("Machine detection result").check()
    page.get_by_role("button", name="Create subscription").click()
    secret = page.get_by_label("Signing secret").input_value()
    assert secret.startswith("whsec_")
    expect(page.get_by_text("will not show it again")).to_be_visible()
    problems = check_page(page, "forwarding-secret", screenshots=False)
    page.get_by_role("link", name="Done, open its delivery log").click()
    expect(page.get_by_text("Nothing sent yet")).to_be_visible()

    payload = vonage_status("ringing", at=at(1))
    call_event_record(account=account, payload=payload,
                      event=account_adapter(account, webhooks_only=True).parse_event(payload))
    row = page.locator("#delivery-log tbody tr").first
    expect(row).to_contain_text("call.status_changed")  # live: nobody reloaded
    expect(row).to_contain_text(f"call {call.pk}")
    assert secret not in page.content()
    problems += check_page(page, "forwarding-log", screenshots=False)

    row.locator("summary").click()
    row.get_by_role("button", name="Replay…").click()
    page.locator("#confirm-ok").click()
    expect(page.get_by_text("queued again")).to_be_visible()
    page.context.close()
    receiver.stop()
    assert not problems, "\n".join(problems)


def delivery_log_of_one(live_server, browser):
    """An admin on the delivery log of a subscription with one delivered event: (page, it)."""
    UserFactory(username="ada", role=Role.ADMIN, is_staff=True, is_superuser=True)
    delivered = ForwardingDeliveryFactory(status=DeliveryStatus.DELIVERED)
    page = browser.new_context().new_page()
    page.set_default_timeout(10000)
    sign_in(page, live_server.url, "ada")
    page.wait_for_url(f"{live_server.url}/")
    page.locator("details.usermenu summary").click()
    page.get_by_role("link", name="Event forwarding").click()
    page.get_by_role("link", name=delivered.subscription.name).click()
    return page, delivered


def test_a_replay_confirmed_while_the_log_changes_is_still_sent(live_server, browser):
    from playwright.sync_api import expect

    page, delivered = delivery_log_of_one(live_server, browser)
    subscription = delivered.subscription
    row = page.locator("#delivery-log tbody tr").first
    row.locator("summary").click()

    # The log's next poll brings a new delivery, and its answer arrives while the admin is
    # reading the confirmation: it must not take away the form being confirmed.
    polls = []

    def is_poll(url: str) -> bool:
        return "since_change=" in url

    page.route(is_poll, lambda route: polls.append(route))
    ForwardingDeliveryFactory(subscription=subscription, call=delivered.call)
    with page.expect_request(lambda request: is_poll(request.url)):
        pass
    row.get_by_role("button", name="Replay…").click()
    page.evaluate("document.body.addEventListener('htmx:afterRequest', "
                  "() => { window.polled = true; }, {once: true})")
    polls[0].continue_()  # no other poll goes out while the dialog is open
    page.wait_for_function("() => window.polled === true")
    page.locator("#confirm-ok").click()

    expect(page.get_by_text("queued again")).to_be_visible()
    page.context.close()


def test_a_delivery_opened_stays_open_while_the_log_changes(live_server, browser):
    from playwright.sync_api import expect

    page, first = delivery_log_of_one(live_server, browser)
    panel = page.locator(f"#forwarded-{first.pk}")
    panel.locator("summary").click()

    ForwardingDeliveryFactory(subscription=first.subscription, call=first.call)
    expect(page.locator("#delivery-log tbody tr")).to_have_count(2)  # the log was replaced

    expect(panel).to_have_attribute("open", "")
    expect(panel.get_by_role("button", name="Replay…")).to_be_visible()
    page.context.close()


def test_an_admin_disables_a_subscription_after_confirming(live_server, browser):
    """The API could turn a subscription off (`enabled: false`), the page could not: a
    receiver going down for maintenance left the admin only Delete."""
    from playwright.sync_api import expect

    page, delivered = delivery_log_of_one(live_server, browser)
    page.get_by_role("button", name="Disable…").click()
    expect(page.locator("#confirm-message")).to_contain_text("are not kept")
    page.locator("#confirm-ok").click()

    expect(page.get_by_role("alert").filter(has_text="Disabled.")).to_be_visible()
    expect(page.get_by_text("nothing is sent until you enable it again")).to_be_visible()
    delivered.subscription.refresh_from_db()
    assert not delivered.subscription.enabled
    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_text("is on again")).to_be_visible()
    page.context.close()


def test_the_delivery_log_shows_each_status_on_a_phone(live_server, browser):
    """At 390 px only Made and Event were in sight; Status, the column that matters, was off
    to the right: each delivery now reads top to bottom."""
    page, delivered = delivery_log_of_one(live_server, browser)
    page.set_viewport_size(PHONE)
    status = page.locator(f"[data-field='status-{delivered.pk}']")
    box = status.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert "Delivered" in status.inner_text()
    assert page_width(page) <= PHONE["width"]
    page.context.close()


def test_reloading_the_secret_page_makes_no_second_subscription(live_server, browser):
    """The secret is the answer to the form's POST: a reload sent the form again and made a
    second subscription, so the receiver got every event twice, half unverifiable."""
    from playwright.sync_api import expect

    UserFactory(username="ada", role=Role.ADMIN, is_staff=True, is_superuser=True)
    receiver = Receiver().start()
    page = browser.new_context().new_page()
    page.set_default_timeout(10000)
    sign_in(page, live_server.url, "ada", "/settings/forwarding/new")
    page.get_by_label("Name").fill("CRM")
    page.get_by_label("URL").fill(receiver.url)
    page.get_by_role("button", name="Create subscription").click()
    expect(page.get_by_label("Signing secret")).to_be_visible()

    page.reload()

    expect(page.get_by_text("This form was sent already")).to_be_visible()
    expect(page.get_by_role("heading", name="CRM", level=1)).to_be_visible()
    assert Subscription.objects.count() == 1
    page.context.close()
    receiver.stop()
