"""An admin turning two-factor sign-in off for a role is asked first, in the browser's
confirm dialog; turning it on, or saving what is already on, is not."""

import pytest
from playwright.sync_api import expect

from portal.models import Role, SecurityPolicy
from tests.e2e.pages import labelled, sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_turning_two_factor_sign_in_off_asks_first(browser, live_server):
    UserFactory(username="ada", role=Role.ADMIN)
    SecurityPolicy.objects.create(pk=1, two_factor_operator=True)
    page = browser.new_page()
    sign_in(page, live_server.url, "ada", next_path="/settings/")
    dialog = page.locator("#confirm-dialog")
    section = page.locator("section", has=page.get_by_role("heading", name="Sign-in"))

    labelled(page, "Require two-factor sign-in for viewers").check()
    section.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Sign-in settings saved")).to_be_visible()
    expect(dialog).to_be_hidden()
    assert SecurityPolicy.load().two_factor_viewer

    labelled(page, "Require two-factor sign-in for operators").uncheck()
    section.get_by_role("button", name="Save").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Stop requiring two-factor sign-in for the roles you unticked?")
    dialog.get_by_role("button", name="Cancel").click()
    assert SecurityPolicy.load().two_factor_operator

    section.get_by_role("button", name="Save").click()
    with page.expect_navigation():
        dialog.get_by_role("button", name="Stop requiring it").click()
    expect(page.get_by_text("Sign-in settings saved")).to_be_visible()
    assert not SecurityPolicy.load().two_factor_operator
    page.close()
