"""The call page's Actions panel as an operator sees it, in a real browser."""

from __future__ import annotations

import pytest

from portal.models import Role
from tests.calls.controlling import call_path, live_call
from tests.calls.placing import voicegateway_setup
from tests.e2e.pages import PHONE, sign_in
from tests.factories import CallFactory, ProviderAccountFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

_LOOK = """(element) => {
  const style = getComputedStyle(element);
  return [style.backgroundColor, style.borderColor, style.boxShadow].join(" | ");
}"""


def test_a_toggle_that_is_on_looks_pressed(live_server, browser):
    """Mute on and Earmuff off looked the same: only the word after the colon differed."""
    UserFactory(username="otto", role=Role.OPERATOR)
    call = CallFactory(account=ProviderAccountFactory(sandbox=True), status="answered",
                       provider_call_id="uuid-1", muted=True)
    page = browser.new_context(viewport=PHONE).new_page()
    sign_in(page, live_server.url, "otto", f"/calls/{call.pk}/")

    mute, earmuff = page.locator("#do-mute"), page.locator("#do-earmuff")

    assert mute.get_attribute("aria-pressed") == "true"
    assert earmuff.get_attribute("aria-pressed") == "false"
    assert mute.evaluate(_LOOK) != earmuff.evaluate(_LOOK)


def test_a_double_click_sends_the_action_once(live_server, browser, fake_provider):
    """A double click on Speak text sent it twice: htmx's hx-sync gave up waiting for the
    first answer, not the request, so both reached Voice Gateway. The form is busy until its
    answer, and its button says so."""
    setup = voicegateway_setup(fake_provider)
    call = live_call(setup)
    path = call_path(setup, call)
    setup.fake.reply("PUT", path, 202, "Accepted", delay=0.5)  # the operator waits a moment
    UserFactory(username="otto", role=Role.OPERATOR)
    page = browser.new_context().new_page()
    sign_in(page, live_server.url, "otto", f"/calls/{call.pk}/")
    page.locator("#control-talk summary").click()
    page.fill("#talk_text", "Please hold")

    page.locator("#do-talk").dblclick()

    page.wait_for_selector("#actions form[aria-busy=true] #do-talk[aria-disabled=true]")
    page.wait_for_selector("#do-talk[aria-disabled=true]", state="detached")
    assert page.evaluate("document.activeElement.id") == "do-talk"
    assert page.locator("#action-result").inner_text().startswith("Speaking")
    assert len(setup.fake.requests_to("PUT", path)) == 1
