"""In a real browser: a call placed from the form is sent by a real worker to a fake Vonage
and watched live on the call log to its outcome, while the provider's signed events arrive
over HTTP."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from calls.models import Call, CallStatus
from portal.models import Role
from tests.calls.placing import FROM, TO, vonage_setup
from tests.calls.webhook_helpers import body_of
from tests.e2e.pages import sign_in
from tests.factories import CallFactory, ProviderAccountFactory, UserFactory
from tests.fakes.provider_accounts import SIGNATURE_SECRET, vonage_signed_headers
from tests.helpers import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
LIVE = 2000  # ms: a change must be on screen within two seconds


def post_event(live_server, account, status: str, call: Call, **extra) -> None:
    """What Vonage does: a signed JSON event to the account's event URL."""
    payload = {"from": FROM.lstrip("+"), "to": TO.lstrip("+"), "uuid": call.provider_call_id,
               "conversation_uuid": call.conversation_id, "status": status,
               "direction": "outbound", **extra}
    body = body_of(payload)
    response = requests.post(f"{live_server.url}/hooks/{account.webhook_token}/events",
                             data=body, timeout=5,
                             headers={"Content-Type": "application/json",
                                      **vonage_signed_headers(body)})
    assert response.status_code == 200, response.text


def test_a_call_placed_from_the_form_is_watched_live_to_its_outcome(
    live_server, browser, fake_provider, celery_worker
):
    from playwright.sync_api import expect

    tabs = browser.new_context()  # two tabs of one session
    log = tabs.new_page()
    setup = operator_on_a_fake_vonage(live_server, fake_provider, log, "/calls/")
    account = setup.account
    expect(log.get_by_text("No calls yet")).to_be_visible()

    # In a second tab, the operator places the call from the form.
    form = tabs.new_page()
    form.goto(f"{live_server.url}/calls/new")
    setup.accept()
    place_call(form, "+31 6 12345678")
    call = Call.objects.get()

    # The log shows it without a reload; the worker sends it and the log follows.
    row = log.locator(f"#call-{call.pk}")
    pill = row.locator(".pill").first
    expect(pill).to_have_text(re.compile("Queued|Submitted"), timeout=LIVE)
    wait_for(lambda: reload(call).status == CallStatus.SUBMITTED, timeout=30)
    expect(pill).to_have_text("Submitted", timeout=LIVE)
    call.refresh_from_db()
    for status, shown in (("ringing", "Ringing"), ("answered", "Answered")):
        post_event(live_server, account, status, call)
        expect(pill).to_have_text(shown, timeout=LIVE)
    post_event(live_server, account, "completed", call, duration="42",
               price="0.01000000", disconnected_by="user")
    expect(pill).to_have_text("Completed", timeout=LIVE)
    expect(row.locator("td.num")).to_have_text("0:42")

    # A second call from the form appears on its own while the log is open.
    form.goto(f"{live_server.url}/calls/new")
    setup.accept()
    place_call(form, "+31 6 12345679")
    expect(log.locator("tbody tr")).to_have_count(2, timeout=LIVE)

    # Paused, the page stays as it is; switched back on, it catches up.
    log.get_by_label("Live").uncheck()
    expect(log.locator("#live-state")).to_have_text("Paused")
    log.wait_for_timeout(1200)  # a poll already on its way when paused may still land
    post_event(live_server, account, "busy", Call.objects.order_by("-id").first())
    log.wait_for_timeout(LIVE + 500)
    expect(log.locator("tbody tr .pill.warn")).to_have_count(0)
    log.get_by_label("Paused").check()
    expect(log.locator("tbody tr .pill.warn")).to_have_count(1, timeout=LIVE)


def operator_on_a_fake_vonage(live_server, fake_provider, page, path: str):
    """Olivia, an operator, signed in on `page` at `path`; the worker sends her calls to a
    fake Vonage (`setup.accept()` has it accept the next one), and events are signed with the
    account's secret."""
    UserFactory(username="olivia", role=Role.OPERATOR)
    setup = vonage_setup(fake_provider)
    setup.account.set_secret("signature_secret", SIGNATURE_SECRET)
    setup.account.save()
    sign_in(page, live_server.url, "olivia", path)
    return setup


def place_call(page, number: str) -> None:
    """Sends the Place call form open on `page` to `number`; the page then shows the call."""
    page.get_by_label("Number").fill(number)
    page.get_by_role("button", name="Place call").click()
    page.wait_for_url(re.compile(r"/calls/\d+/$"))


def test_a_placed_call_is_watched_ring_answer_and_complete_on_the_page_it_lands_on(
    live_server, browser, fake_provider, celery_worker
):
    from playwright.sync_api import expect

    page = browser.new_context().new_page()
    setup = operator_on_a_fake_vonage(live_server, fake_provider, page, "/calls/new")
    setup.accept()
    place_call(page, "+31 6 12345678")
    page.evaluate("() => { window.notReloaded = true; }")  # gone if the page were reloaded
    call = Call.objects.get()
    heading = page.get_by_role("heading", level=1)

    wait_for(lambda: reload(call).status == CallStatus.SUBMITTED, timeout=30)
    expect(heading).to_contain_text("Submitted", timeout=LIVE)
    call.refresh_from_db()
    for status, shown in (("ringing", "Ringing"), ("answered", "Answered")):
        post_event(live_server, setup.account, status, call)
        expect(heading).to_contain_text(shown, timeout=LIVE)
    expect(page.locator("#actions").get_by_role("button", name="Hang up")).to_be_visible()
    post_event(live_server, setup.account, "completed", call, duration="42",
               price="0.01000000", disconnected_by="user")
    expect(heading).to_contain_text("Completed", timeout=LIVE)
    expect(page.locator("[data-field=duration]")).to_have_text("0:42")
    expect(page.locator("#actions").get_by_role("button", name="Hang up")).to_have_count(0)
    assert page.evaluate("() => window.notReloaded") is True


def test_a_changed_row_is_replaced_in_place_and_the_other_rows_stay_as_they_are(
    live_server, browser
):
    """The log sends only the row that changed: it takes that row's place, and the rows
    around it are the same elements as before (what the reader had open or selected in
    them stays so)."""
    from playwright.sync_api import expect

    UserFactory(username="vera", role=Role.VIEWER)
    account = ProviderAccountFactory(vonage=True)
    calls = [CallFactory(account=account, provider="vonage", status="ringing")
             for _ in range(3)]
    # Changed long before the page is rendered: the page shows them as they are.
    Call.objects.update(updated_at=timezone.now() - timedelta(minutes=1))
    page = browser.new_context().new_page()
    sign_in(page, live_server.url, "vera", "/calls/")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(3)
    order = rows.evaluate_all("rows => rows.map(row => row.id)")
    rows.evaluate_all("rows => rows.forEach(row => { row.before = true; })")

    middle = calls[1]
    Call.objects.filter(pk=middle.pk).update(status=CallStatus.ANSWERED,
                                             updated_at=timezone.now())
    expect(page.locator(f"#call-{middle.pk} .pill")).to_have_text("Answered", timeout=LIVE)
    expect(page.locator(f"#call-{middle.pk}")).to_have_class("changed")
    assert rows.evaluate_all("rows => rows.map(row => row.id)") == order
    assert rows.evaluate_all("rows => rows.map(row => row.before === true)") == [
        True, False, True]


def test_the_keyboard_focus_stays_on_a_rows_hang_up_as_the_log_changes(live_server, browser):
    """A row's Hang up and link have no id: as its call rang and was answered, the focus
    fell back to the top of the page, and Enter then did nothing."""
    from playwright.sync_api import expect

    UserFactory(username="otto", role=Role.OPERATOR)
    account = ProviderAccountFactory(vonage=True)
    first, second = (CallFactory(account=account, provider="vonage", status="ringing",
                                 provider_call_id=f"uuid-{n}") for n in range(2))
    Call.objects.update(updated_at=timezone.now() - timedelta(minutes=1))
    page = browser.new_context().new_page()
    sign_in(page, live_server.url, "otto", "/calls/")
    hang_up = page.locator(f"#call-{first.pk} button", has_text="Hang up")
    hang_up.focus()

    Call.objects.filter(pk=first.pk).update(status=CallStatus.ANSWERED, updated_at=timezone.now())
    expect(page.locator(f"#call-{first.pk} .pill")).to_have_text("Answered", timeout=LIVE)
    expect(hang_up).to_be_focused()

    # In a row the answer keeps as it is (another row changed), too.
    Call.objects.filter(pk=second.pk).update(status=CallStatus.ANSWERED,
                                             updated_at=timezone.now())
    expect(page.locator(f"#call-{second.pk} .pill")).to_have_text("Answered", timeout=LIVE)
    expect(hang_up).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#confirm-dialog")).to_be_visible()


def reload(call: Call) -> Call:
    call.refresh_from_db()
    return call


def test_the_place_call_ncco_box_is_checked_as_typed(live_server, browser, fake_provider):
    from playwright.sync_api import expect

    page = browser.new_context().new_page()
    operator_on_a_fake_vonage(live_server, fake_provider, page, "/calls/new%3Fflow_type%3Dncco")

    box = page.locator("#id_ncco")
    box.fill('[{"action": "talk"}]')
    issues = page.locator("#id_ncco-issues")
    expect(issues).to_contain_text('/0 (line 1): A talk action needs "text".', timeout=5000)
    box.fill('[{"action": "talk", "text": "Hello"}]')
    expect(issues).to_have_text("The NCCO is valid.", timeout=5000)
