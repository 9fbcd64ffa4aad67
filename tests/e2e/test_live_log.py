"""In a real browser: a call placed from the form is watched live on the call log, from
queued to its outcome, while the provider's signed events arrive over HTTP."""

from __future__ import annotations

import re
import uuid

import pytest
import requests
from django.contrib.auth.models import Group

from calls.models import Call, CallStatus
from portal.models import Role
from tests.calls.webhook_helpers import body_of, fast_passwords, make_account  # noqa: F401
from tests.factories import PASSWORD, UserFactory
from tests.fakes.provider_accounts import vonage_signed_headers
from voiceapps.models import Application, FlowType, Number

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("fast_passwords")]

CHROMIUM = {"executable_path": "/usr/bin/chromium",
            "args": ["--no-sandbox", "--disable-background-networking"]}
LIVE = 2000  # ms: a change must be on screen within two seconds


@pytest.fixture
def browser_page(monkeypatch):
    playwright = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API keeps an event loop in this thread; the ORM calls the test
    # makes between browser steps are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(**CHROMIUM)
        page = browser.new_page()
        yield page, playwright.expect
        browser.close()


def post_event(live_server, account, status: str, call_uuid: str, **extra) -> None:
    """What Vonage does: a signed JSON event to the account's event URL."""
    payload = {"from": "31201234567", "to": "31612345678", "uuid": call_uuid,
               "conversation_uuid": f"CON-{call_uuid}", "status": status,
               "direction": "outbound", **extra}
    body = body_of(payload)
    response = requests.post(f"{live_server.url}/hooks/{account.webhook_token}/events",
                             data=body, timeout=5,
                             headers={"Content-Type": "application/json",
                                      **vonage_signed_headers(body)})
    assert response.status_code == 200, response.text


def test_a_call_placed_from_the_form_is_watched_live_to_its_outcome(live_server, browser_page):
    page, expect = browser_page
    for role in Role:  # transactional tests start without the groups the migration made
        Group.objects.get_or_create(name=role.label)
    UserFactory(username="olivia", role=Role.OPERATOR)
    account = make_account()
    application = Application.objects.create(
        account=account, name="Reminders", flow_type=FlowType.URL,
        answer_url="https://flows.example.com/answer", provider_app_id=str(uuid.uuid4()))
    Number.objects.create(account=account, e164="+31201234567", application=application)

    page.goto(f"{live_server.url}/login/?next=/calls/new")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Sign in|Log in", re.I)).click()
    page.wait_for_url(re.compile(r"/calls/new$"))
    page.wait_for_load_state("load")  # htmx is ready
    # Choosing the application re-renders the form (htmx): wait for it before typing.
    with page.expect_response(lambda response: "/calls/new?" in response.url):
        page.get_by_label("Application").select_option(label="Reminders")
    page.get_by_label("Number").fill("+31 6 12345678")
    page.get_by_role("button", name="Place call").click()
    page.wait_for_url(re.compile(r"/calls/\d+/$"))
    call = Call.objects.get()
    assert call.status == CallStatus.QUEUED  # no worker here: it waits for one

    page.goto(f"{live_server.url}/calls/")
    row = page.locator(f"#call-{call.pk}")
    expect(row.locator(".pill").first).to_have_text("Queued")

    # The worker's create-call request was accepted: the provider knows the call by a uuid.
    call_uuid = str(uuid.uuid4())
    call.status, call.provider_call_id = CallStatus.SUBMITTED, call_uuid
    call.save(update_fields=["status", "provider_call_id", "updated_at"])
    expect(row.locator(".pill").first).to_have_text("Submitted", timeout=LIVE)
    for status, shown in (("ringing", "Ringing"), ("answered", "Answered")):
        post_event(live_server, account, status, call_uuid)
        expect(row.locator(".pill").first).to_have_text(shown, timeout=LIVE)
    post_event(live_server, account, "completed", call_uuid, duration="42",
               price="0.01000000", disconnected_by="user")
    expect(row.locator(".pill").first).to_have_text("Completed", timeout=LIVE)
    expect(row.locator("td.num")).to_have_text("0:42")

    # Paused, the page stays as it is; switched back on, it catches up.
    page.get_by_label("Live").uncheck()
    expect(page.locator("#live-state")).to_have_text("Paused")
    inbound = str(uuid.uuid4())
    post_event(live_server, account, "ringing", inbound)
    page.wait_for_timeout(LIVE + 500)
    assert page.locator("tbody tr").count() == 1
    page.get_by_label("Paused").check()
    expect(page.locator("tbody tr")).to_have_count(2, timeout=LIVE)
