"""Before anything exists, every list page says what to do next and offers the button.

Also when a filter matches nothing: the page says so and offers the way back. Each page is
audited as in the walk (axe-core, keyboard focus, phone width), without screenshots.
"""

from __future__ import annotations

import pytest

from portal.models import Role
from tests.e2e.pages import check_page, sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# (page, what it says, the way forward)
NOTHING_YET = [
    ("/", "No calls yet", "Place a call"),
    ("/calls/", "No calls yet", "Place your first call"),
    ("/calls/new", "No provider account yet", "Add an account"),
    ("/calls/profiles/", "No call profiles yet", "Create the first profile"),
    ("/calls/deliveries/", "No webhook was rejected", "Show every delivery"),
    ("/calls/deliveries/?outcome=", "No webhook has arrived yet", "Place a call"),
    ("/accounts/", "No provider accounts yet", "Add a sandbox"),
    ("/applications/", "No applications yet", "Add application"),
    ("/nccos/", "No NCCOs yet", "Start from the menu template"),
    ("/numbers/", "No numbers yet", "Add number"),
    ("/profile/", "You have no API tokens yet", "Create token"),
    ("/alerts/", "No alert rule is set up yet", "Set up alert rules"),
    ("/settings/alerts/", "No rule yet", "Webhook deliveries rejected"),
    ("/settings/alerts/", "No channel yet", "Add a channel"),
    ("/settings/forwarding/", "No subscriptions yet", "New subscription"),
    ("/recordings/", "No recordings yet", "Add a record action to an NCCO"),
    ("/recordings/retention/", "No accounts yet", "Add an account"),
]
NO_MATCH = [
    ("/calls/?to_number=999", "No calls match these filters", "Clear the filters"),
    ("/calls/deliveries/?outcome=applied", "No webhook matches these filters",
     "Clear the filters"),
    ("/calls/profiles/?q=nothing", "No profile matches", "Show all profiles"),
    ("/applications/?q=nothing", "No application matches", "Show all applications"),
    ("/nccos/?search=nothing", "No NCCO matches", "Show all NCCOs"),
    ("/numbers/?q=nothing", "No number matches", "Show all numbers"),
    ("/audit/?action=campaign.stop", "No audit entry matches", "Show every entry"),
    ("/users/?q=nothing", "No user matches", "Show every user"),
    ("/alerts/?state=open", "No alert matches", "Show every alert"),
]

# The items of an empty state's list whose words begin far right of their bullet: a list
# centred as the text around it is leaves its bullets at the card's left edge.
_BULLETS_APART = """() => [...document.querySelectorAll(".empty li")].filter(item => {
  const words = document.createRange();
  words.selectNodeContents(item);
  return words.getClientRects()[0].left - item.getBoundingClientRect().left > 40;
}).map(item => item.textContent.trim().slice(0, 40))"""


def test_every_empty_list_says_what_to_do_next(live_server, browser):
    from playwright.sync_api import expect

    UserFactory(username="ada", role=Role.ADMIN, is_staff=True, is_superuser=True)
    page = browser.new_context().new_page()
    page.set_default_timeout(10000)
    sign_in(page, live_server.url, "ada")
    page.wait_for_url(f"{live_server.url}/")

    problems: list[str] = []
    for path, says, forward in NOTHING_YET + NO_MATCH:
        page.goto(live_server.url + path)
        empty = page.locator(".empty").filter(has_text=says)
        expect(empty, path).to_be_visible()
        way = page.get_by_role("link", name=forward).or_(page.get_by_role("button", name=forward))
        expect(way.first, f"{path}: {forward}").to_be_visible()
        problems += [f"{path}: a bullet far from its words: {item}"
                     for item in page.evaluate(_BULLETS_APART)]
        problems += check_page(page, f"empty {path}", screenshots=False)
    page.context.close()
    assert not problems, "\n".join(problems)
