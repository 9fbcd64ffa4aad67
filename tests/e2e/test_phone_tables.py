"""On a phone, a wide table scrolls sideways inside its wrapper; a cell of sentences keeps a
readable width rather than being squeezed to a word a line (one very tall row after another)."""

from __future__ import annotations

import pytest

from portal.models import Role
from portal.services import Actor, audit_record
from tests.e2e.pages import PHONE, page_width, sign_in
from tests.factories import (
    ApiTokenFactory,
    CampaignFactory,
    ContactFactory,
    ProviderAccountFactory,
    UserFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

_ROWS = """(selector) => [...document.querySelectorAll(selector + ' tbody tr')].map(row => ({
  height: row.getBoundingClientRect().height,
  lines: Math.round(row.lastElementChild.getBoundingClientRect().height
                    / parseFloat(getComputedStyle(row.lastElementChild).lineHeight)),
}))"""


def test_the_sandbox_scripts_table_is_readable_on_a_phone(live_server, browser):
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
    row's state and reason took seven lines of a word or two; then the state, what an
    operator watches the board for, was off to the right of the phone."""
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
    # Each contact reads top to bottom, its state in sight, nothing to scroll sideways.
    assert not page.locator("#contacts .tablewrap").evaluate(
        "(e) => e.scrollWidth > e.clientWidth")
    for state in page.locator("#contacts [data-field^=state-]").all():
        box = state.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box


# Where each cell of the first call log row ends, and how wide the window is.
_LOG_ROW = """() => {
  const row = document.querySelector('#call-log tbody tr');
  const cells = {};
  [...row.children].forEach((cell, index) => {
    const head = document.querySelectorAll('#call-log thead th')[index];
    const box = cell.getBoundingClientRect();
    cells[head.textContent.trim()] = {right: box.right, shown: box.width > 0,
                                      text: cell.innerText.trim()};
  });
  return {cells: cells, window: window.innerWidth, text: row.innerText};
}"""


def _phone_log_in_sight(live_server, browser, **call) -> tuple:
    """An operator's call log at phone width with one answered call: (page, its row), To
    and Status checked to end on the screen, Status with its Hang up."""
    from tests.factories import CallFactory

    UserFactory(username="otto", role=Role.OPERATOR)
    account = ProviderAccountFactory(vonage=True)
    CallFactory(account=account, provider="vonage", status="answered",
                provider_call_id="uuid-1", from_number="+31201234567", **call)
    page = browser.new_context(viewport=PHONE).new_page()
    sign_in(page, live_server.url, "otto", "/calls/")

    row = page.evaluate(_LOG_ROW)

    cells = row["cells"]
    for column in ("To", "Status"):
        assert cells[column]["shown"], column
        assert cells[column]["right"] <= row["window"], (column, cells[column], row["window"])
    assert "Hang up" in cells["Status"]["text"]
    return page, row


def test_the_call_log_shows_to_and_status_on_a_phone_without_scrolling(live_server, browser):
    """Time, Direction and From took the phone's whole width: who was called and how it went
    were only reachable by scrolling the table sideways."""
    page, row = _phone_log_in_sight(live_server, browser, to_display="+447700900000")

    # What the hidden columns said is still on the row: the direction and the caller number.
    assert "Outbound from +31 20 123 4567" in row["text"], row["text"]
    assert page_width(page) <= PHONE["width"]

    # At desktop width every column as before, the caller number once.
    page.set_viewport_size({"width": 1366, "height": 768})
    row = page.evaluate(_LOG_ROW)
    assert all(cell["shown"] for cell in row["cells"].values())
    assert row["text"].count("+31 20 123 4567") == 1, row["text"]


def test_the_audit_log_is_readable_on_a_phone(live_server, browser):
    """Action, Object and Changes were off to the right of a 390 px phone: each entry now
    reads top to bottom, every column in sight, nothing to scroll sideways."""
    ada = UserFactory(username="ada", role=Role.ADMIN)
    audit_record(actor=Actor(user=ada), action="account.update",
                 changes={"name": ["Vonage production EU", "Vonage production (Europe)"],
                          "webhook_base": "https://callboard.example.com/hooks/"})
    page = browser.new_context(viewport=PHONE).new_page()
    sign_in(page, live_server.url, "ada")

    page.goto(f"{live_server.url}/audit/")
    wrap = page.locator(".tablewrap")
    assert page_width(page) <= PHONE["width"]
    assert not wrap.evaluate("(e) => e.scrollWidth > e.clientWidth")  # no sideways scroll
    row = page.locator("table.audit-log tbody tr").filter(has_text="account.update")
    for cell in ("code", "td.changes"):
        box = row.locator(cell).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (cell, box)


def test_a_long_sip_address_wraps_and_leaves_status_in_sight_on_a_phone(live_server, browser):
    """A SIP URI is one long word: on one line it pushed Status, and its Hang up, off a phone's
    screen. It now wraps inside To, and its title holds it whole."""
    uri = "sip:reception-desk-amsterdam-zuid@pbx.customer-with-a-long-name.example.com"
    page, _ = _phone_log_in_sight(live_server, browser, to_display=uri, outcome_unknown=True)

    # The pills and the button themselves, not only their cell, end on the screen.
    status = page.locator("#call-log tbody tr td.status").locator(".pill, button")
    assert status.count() == 3
    for index in range(3):
        box = status.nth(index).bounding_box()
        assert box["x"] + box["width"] <= PHONE["width"], (index, box)
    to = page.locator("#call-log tbody tr td.to [title]")
    assert to.get_attribute("title") == uri
    assert to.inner_text().replace("\n", "") == uri  # all of it on the page, wrapped
    assert page_width(page) <= PHONE["width"]


def test_the_profiles_revoke_and_sign_out_buttons_are_in_sight_on_a_phone(live_server, browser):
    """A token's Revoke was off to the right of a 390 px phone, past seven columns."""
    ada = UserFactory(username="ada", role=Role.ADMIN)
    ApiTokenFactory(user=ada, name="Nightly export")
    page = browser.new_context(viewport=PHONE).new_page()
    sign_in(page, live_server.url, "ada", "/profile/")

    assert page_width(page) <= PHONE["width"]
    for button in (page.get_by_role("button", name="Revoke"),
                   page.locator("form[action*='/sessions/'] button")):
        box = button.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
