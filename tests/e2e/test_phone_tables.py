"""On a phone, a wide table scrolls sideways inside its wrapper; a cell of sentences keeps a
readable width rather than being squeezed to a word a line (one very tall row after another)."""

from __future__ import annotations

import pytest

from portal.models import Role
from tests.e2e.pages import PHONE, page_width, sign_in
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    ProviderAccountFactory,
    UserFactory,
    role_groups_restored,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

_ROWS = """(selector) => [...document.querySelectorAll(selector + ' tbody tr')].map(row => ({
  height: row.getBoundingClientRect().height,
  lines: Math.round(row.lastElementChild.getBoundingClientRect().height
                    / parseFloat(getComputedStyle(row.lastElementChild).lineHeight)),
}))"""


def test_the_sandbox_scripts_table_is_readable_on_a_phone(live_server, browser):
    role_groups_restored()
    UserFactory(username="ada", role=Role.ADMIN)
    account = ProviderAccountFactory(sandbox=True, name="Sandbox")
    page = browser.new_context(viewport=PHONE).new_page()
    sign_in(page, live_server.url, "ada")

    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    rows = page.evaluate(_ROWS, ".sandbox-scripts")

    assert len(rows) > 5 and page_width(page) <= PHONE["width"]
    # "What happens" is a sentence or two: at most four lines on a phone (it took up to 12).
    assert max(row["lines"] for row in rows) <= 4, rows
    wrap = page.locator(".sandbox-scripts .tablewrap")
    assert wrap.evaluate("(e) => e.scrollWidth > e.clientWidth")  # it scrolls sideways


# The lines the text of each contact's cell in `column` is laid out on.
_LINES_OF = """(column) => [...document.querySelectorAll('#contacts tbody tr')].map(row => {
  const text = document.createRange();
  text.selectNodeContents(row.children[column]);
  return new Set([...text.getClientRects()].map(box => Math.round(box.top))).size;
})"""


def test_a_campaigns_contacts_read_line_by_line_on_a_phone(live_server, browser):
    """A number split at its spaces read as three numbers, one under the other; a refused
    row's state and reason took seven lines of a word or two."""
    role_groups_restored()
    UserFactory(username="ada", role=Role.VIEWER)
    campaign = CampaignFactory()
    for row, e164 in enumerate(("+447700900000", "+12125550100"), start=2):
        ContactFactory(campaign=campaign, row=row, raw_number=e164, e164=e164,
                       timezones=["Europe/London"], timezone_ambiguous=True)
    ContactFactory(campaign=campaign, row=4, raw_number="not-a-number", e164="", timezones=[],
                   state="skipped", skip_reason="invalid",
                   problem="Enter the number in international format, e.g. +31 20 123 4567.")
    page = browser.new_context(viewport=PHONE).new_page()
    sign_in(page, live_server.url, "ada")

    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/")
    numbers, states = page.evaluate(_LINES_OF, 1), page.evaluate(_LINES_OF, 3)

    assert numbers[:2] == [1, 1], numbers
    assert max(states) <= 3, states
    assert page_width(page) <= PHONE["width"]
