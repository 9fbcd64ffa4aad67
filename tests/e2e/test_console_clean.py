"""In a real browser: a live page swaps its answers in without one console error.

htmx settles a swapped element's `style` attribute by copying the old element's with
setAttribute, which our Content-Security-Policy (no inline style) refuses, logging an error
after every poll that changed something. Nothing of ours writes a style attribute, but an
extension, the inspector or any script setting `element.style` leaves one (empty once
cleared) on the elements it touched."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Call, CallStatus
from portal.models import Role
from tests.e2e.pages import sign_in
from tests.factories import CallFactory, ProviderAccountFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
LIVE = 2000  # ms: a change must be on screen within two seconds


def test_the_call_log_swaps_its_changes_in_without_a_console_error(live_server, browser):
    from playwright.sync_api import expect

    UserFactory(username="otto", role=Role.OPERATOR)
    account = ProviderAccountFactory(vonage=True)
    calls = [CallFactory(account=account, provider="vonage", status="ringing",
                         provider_call_id=f"uuid-{n}") for n in range(3)]
    Call.objects.update(updated_at=timezone.now() - timedelta(minutes=1))
    page = browser.new_context().new_page()
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server.url, "otto", "/calls/")
    # What an extension highlighting an element leaves behind: an empty style attribute.
    page.evaluate("""() => document.querySelectorAll("#call-log, #call-log tr[id]")
        .forEach(element => { element.style.outline = "1px solid"; element.style.outline = ""; })
    """)

    for call, status in ((calls[0], CallStatus.ANSWERED), (calls[1], CallStatus.ANSWERED),
                         (calls[0], CallStatus.COMPLETED), (calls[2], CallStatus.BUSY)):
        Call.objects.filter(pk=call.pk).update(status=status, updated_at=timezone.now())
        expect(page.locator(f"#call-{call.pk} .pill").first).to_have_text(
            status.label, timeout=LIVE)
    page.wait_for_timeout(1000)  # the last swap's settle, when htmx copied the attributes
    page.context.close()
    assert not errors, "\n".join(errors)
