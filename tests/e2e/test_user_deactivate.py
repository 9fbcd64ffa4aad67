"""Deactivating a user asks first, in the browser's confirm dialog; a role change alone does not."""

import pytest
from playwright.sync_api import expect

from portal.models import Role, User
from tests.e2e.pages import labelled, sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_deactivating_a_user_asks_first(browser, live_server):
    UserFactory(username="ada", role=Role.ADMIN)
    bob = UserFactory(username="bob", role=Role.OPERATOR)
    page = browser.new_page()
    sign_in(page, live_server.url, "ada", next_path=f"/users/{bob.pk}/")
    dialog = page.locator("#confirm-dialog")

    labelled(page, "Active").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Deactivate bob?")
    dialog.get_by_role("button", name="Cancel").click()
    assert User.objects.get(pk=bob.pk).is_active

    labelled(page, "Active").check()
    labelled(page, "Role").select_option(label="Viewer")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/users/")
    expect(dialog).to_be_hidden()
    assert User.objects.get(pk=bob.pk).role == Role.VIEWER
    page.close()
