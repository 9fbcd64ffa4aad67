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


def test_a_campaigns_contact_numbers_keep_to_one_line_on_a_phone(live_server, browser):
    """Split at its spaces, "+44 7700 900000" read as three numbers, one under the other."""
    role_groups_restored()
    UserFactory(username="ada", role=Role.VIEWER)
    campaign = CampaignFactory()
    for row, e164 in enumerate(("+447700900000", "+12125550100"), start=2):
        ContactFactory(campaign=campaign, row=row, raw_number=e164, e164=e164,
                       timezones=["Europe/London"], timezone_ambiguous=True)
    page = browser.new_context(viewport=PHONE).new_page()
    sign_in(page, live_server.url, "ada")

    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/")
    lines = page.evaluate("""() => [...document.querySelectorAll('#contacts tbody tr')].map(row => {
      const text = document.createRange();  // the lines its text is laid out on
      text.selectNodeContents(row.children[1]);
      return new Set([...text.getClientRects()].map(box => Math.round(box.top))).size;
    })""")

    assert lines and max(lines) == 1, lines
    assert page_width(page) <= PHONE["width"]
