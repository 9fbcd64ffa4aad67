"""The call page's Actions panel as an operator sees it, in a real browser."""

from __future__ import annotations

import pytest

from portal.models import Role
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
