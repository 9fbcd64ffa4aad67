"""Single sign-on walked in the browser, against the tests' OpenID Connect provider: a new
employee presses the button, types their password at the provider and lands with the role
their group gives, signs out, and is asked for the password again at the next sign-in; an admin's
wrong client secret and a deactivated employee each read why on the sign-in page; a colleague
who used a password before links their user to the company sign-in from their profile."""

import pytest
from playwright.sync_api import expect

from portal.models import Role, User
from tests.e2e.pages import check_page, sign_in
from tests.factories import UserFactory
from tests.fakes.oidc_provider import oidc_provider_fixture  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def role_map(settings):
    settings.OIDC_ROLE_MAP = {"cb-ops": "operator"}


def press_single_sign_on(page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_role("link", name="Sign in with single sign-on").click()
    page.wait_for_load_state()


def test_a_new_employee_signs_in_with_their_group_role_and_signs_out(
    browser, live_server, oidc_provider
):
    """Signing out ended Callboard's session only: pressing "Sign in with single sign-on"
    again came straight back in, without the provider asking for the password."""
    oidc_provider.user = {"sub": "emp-1", "email": "ana@example.com",
                          "preferred_username": "ana", "groups": ["cb-ops"]}
    oidc_provider.password = "company-password"
    page = browser.new_page()

    press_single_sign_on(page, live_server.url)
    page.get_by_label("Password").fill("company-password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.locator(".usermenu summary")).to_contain_text("ana Operator")
    page.locator(".usermenu summary").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
    assert page.url == f"{live_server.url}/signed-out/" and len(oidc_provider.logouts) == 1
    assert User.objects.get(oidc_subject="emp-1").role == Role.OPERATOR

    page.get_by_role("link", name="Sign in with single sign-on").click()
    expect(page.get_by_label("Password")).to_be_visible()  # asked again, at the provider
    assert page.url.startswith(f"{oidc_provider.issuer}/authorize")
    page.close()


def test_a_wrong_client_secret_and_a_deactivated_employee_are_told_why(
    browser, live_server, oidc_provider, settings
):
    UserFactory(username="bo", oidc_subject="emp-2", role=Role.OPERATOR, is_active=False)
    oidc_provider.user = {"sub": "emp-2", "email": "bo@example.com", "groups": ["cb-ops"]}
    page = browser.new_page()

    press_single_sign_on(page, live_server.url)
    expect(page.locator(".flash-error")).to_contain_text(
        "Your Callboard account bo is deactivated; ask an administrator to reactivate it.")

    settings.OIDC_RP_CLIENT_SECRET = "a-wrong-client-secret"
    press_single_sign_on(page, live_server.url)
    expect(page.locator(".flash-error")).to_contain_text(
        "it refused Callboard's client ID or client secret")
    assert "a-wrong-client-secret" not in page.content()
    page.close()


def test_a_password_user_links_the_company_sign_in_and_signs_in_with_it_to_the_same_user(
    browser, live_server, oidc_provider
):
    """Company sign-in matched nobody's old user: it made a second one, without their history,
    tokens or role."""
    UserFactory(username="cy", role=Role.VIEWER)
    oidc_provider.user = {"sub": "emp-3", "email": "cy@example.com",
                          "preferred_username": "cy", "groups": ["cb-ops"]}
    oidc_provider.password = "company-password"
    page = browser.new_page()
    sign_in(page, live_server.url, "cy")

    page.locator(".usermenu summary").click()
    page.get_by_role("link", name="Profile and API tokens").click()
    card = page.locator("section", has=page.get_by_role("heading", name="Company sign-in"))
    expect(card.locator("dd")).to_have_text("A password")
    expect(card).to_contain_text("Once linked, your role is set from your groups claim")
    problems = check_page(page, "profile-company-sign-in", screenshots=False)
    card.get_by_role("button", name="Link company sign-in").click()
    expect(page.locator("#confirm-message")).to_contain_text("Your role then follows your groups")
    page.locator("#confirm-ok").click()
    page.get_by_label("Password").fill("company-password")  # at the provider
    page.get_by_role("button", name="Sign in").click()

    expect(page.locator(".flash-success")).to_contain_text("Company sign-in linked")
    expect(card.locator("dd")).to_contain_text("the identity provider's user emp-3")
    expect(page.locator(".usermenu summary")).to_contain_text("cy Operator")
    page.locator(".usermenu summary").click()
    page.get_by_role("button", name="Sign out", exact=True).click()
    press_single_sign_on(page, live_server.url)
    page.get_by_label("Password").fill("company-password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.locator(".usermenu summary")).to_contain_text("cy Operator")
    assert User.objects.count() == 1 and User.objects.get().oidc_subject == "emp-3"
    page.close()
    assert not problems, "\n".join(problems)
