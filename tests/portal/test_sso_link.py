"""Linking a password user to the company sign-in ("connected accounts"), and unlinking.

A team that turned single sign-on on after using passwords got a second user for each
colleague at their first company sign-in, their history, tokens and role left on the old one.
The flows run against the tests' OpenID Connect provider (tests/fakes/oidc_provider.py).
"""

import html

import pytest
import requests
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from portal import services
from portal.models import AuditEntry, Role, User
from portal.services import SYSTEM, Actor
from tests.factories import ApiTokenFactory, UserFactory
from tests.fakes.oidc_provider import oidc_provider_fixture, sso_sign_in  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def role_map(settings):
    settings.OIDC_ROLE_MAP = {"cb-admins": "admin", "cb-ops": "operator"}


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def link(client: Client) -> object:
    """Press "Link company sign-in" on the profile, sign in at the provider, come back."""
    started = client.post(reverse("sso_link"))
    assert started.status_code == 302 and started.url.startswith(reverse("oidc_login")), started
    return sso_sign_in(client, next_url=reverse("profile"))


def page(client: Client, name: str, *args: int) -> str:
    return html.unescape(client.get(reverse(name, args=args)).content.decode())


# Services ----------------------------------------------------------------------------------

def test_linking_stores_the_subject_and_audits_the_provider_address_masked():
    ana = UserFactory(username="ana", role=Role.OPERATOR)

    services.user_sso_link(actor=Actor(user=ana), user=ana, subject="idp-1",
                           provider_email="ana@example.com")

    assert User.objects.get(pk=ana.pk).oidc_subject == "idp-1"
    entry = AuditEntry.objects.get(action="user.sso_link")
    assert entry.changes == {"oidc_subject": [None, "idp-1"], "provider_email": "a••••@example.com"}
    assert "ana@example.com" not in str(entry.changes) and entry.actor_label == "ana"


def test_a_subject_another_user_holds_is_refused_and_nothing_changes():
    UserFactory(username="ana-2", oidc_subject="idp-2", role=Role.VIEWER)
    ana = UserFactory(username="ana", role=Role.OPERATOR)

    with pytest.raises(ValidationError, match="already signs in to Callboard as ana-2"):
        services.user_sso_link(actor=Actor(user=ana), user=ana, subject="idp-2")

    assert User.objects.get(pk=ana.pk).oidc_subject is None
    assert User.objects.get(username="ana-2").oidc_subject == "idp-2"
    assert not AuditEntry.objects.filter(action="user.sso_link").exists()


def test_unlinking_audits_and_leaves_the_password_and_role():
    ana = UserFactory(username="ana", oidc_subject="idp-3", role=Role.OPERATOR)

    services.user_sso_unlink(actor=SYSTEM, user=ana)

    ana.refresh_from_db()
    assert ana.oidc_subject is None and ana.role == Role.OPERATOR and ana.has_usable_password()
    entry = AuditEntry.objects.get(action="user.sso_unlink")
    assert entry.changes == {"oidc_subject": ["idp-3", None]}


def test_a_user_without_a_password_is_not_unlinked_unless_deactivated(settings):
    made_by_sso = services.user_create(actor=SYSTEM, username="ana-2", email="", password=None,
                                       role=Role.VIEWER, oidc_subject="idp-4")

    with pytest.raises(ValidationError, match="has no password: single sign-on is their only"):
        services.user_sso_unlink(actor=SYSTEM, user=made_by_sso)
    assert User.objects.get(pk=made_by_sso.pk).oidc_subject == "idp-4"

    # A deactivated second user cannot sign in anyway: its company account can be freed.
    services.user_update(actor=SYSTEM, user=made_by_sso, is_active=False)
    services.user_sso_unlink(actor=SYSTEM, user=made_by_sso)
    assert User.objects.get(pk=made_by_sso.pk).oidc_subject is None


def test_with_password_sign_in_off_only_an_admin_is_unlinked(settings):
    settings.PASSWORD_SIGN_IN = False
    bo = UserFactory(username="bo", oidc_subject="idp-5", role=Role.OPERATOR)
    admin = UserFactory(username="root", oidc_subject="idp-6", role=Role.ADMIN)

    with pytest.raises(ValidationError, match="Password sign-in is off"):
        services.user_sso_unlink(actor=SYSTEM, user=bo)
    services.user_sso_unlink(actor=SYSTEM, user=admin)  # a break-glass admin again


# Linking through the provider ----------------------------------------------------------------

def test_a_password_user_links_and_company_sign_in_then_signs_into_the_same_user(
    oidc_provider
):
    ana = UserFactory(username="ana", email="ana@callboard.test", role=Role.VIEWER)
    ApiTokenFactory(user=ana, name="wallboard")
    oidc_provider.user = {"sub": "idp-10", "email": "ana@example.com",
                          "preferred_username": "ana", "groups": ["cb-ops"]}
    client = signed_in(ana)

    response = link(client)

    assert response.status_code == 302 and response.url == reverse("profile")
    ana.refresh_from_db()
    assert ana.oidc_subject == "idp-10" and ana.role == Role.OPERATOR  # the groups decide
    profile = page(client, "profile")
    assert "Company sign-in linked" in profile
    assert "Single sign-on (the identity provider's user <code>idp-10</code>), or a password" \
        in profile
    assert "Your role is set from your <code>groups</code>" in profile
    assert "Link company sign-in</button>" not in profile
    entry = AuditEntry.objects.get(action="user.sso_link")
    assert entry.actor_label == "ana" and entry.changes["provider_email"] == "a••••@example.com"

    later = Client()
    sso_sign_in(later)
    assert later.get("/api/v1/me").json()["username"] == "ana"
    assert User.objects.count() == 1 and ana.api_tokens.count() == 1


def test_a_company_account_another_user_holds_is_refused_on_the_profile(oidc_provider):
    """The refusal: the colleague's first company sign-in already made them ana-2."""
    UserFactory(username="ana-2", oidc_subject="idp-11", role=Role.VIEWER)
    ana = UserFactory(username="ana", role=Role.OPERATOR)
    oidc_provider.user = {"sub": "idp-11", "email": "ana@example.com", "groups": ["cb-ops"]}
    client = signed_in(ana)

    response = link(client)

    assert response.status_code == 302 and response.url == reverse("profile")
    profile = page(client, "profile")  # still signed in as ana
    assert "Nothing was linked: that company account already signs in to Callboard as ana-2" \
        in profile
    assert "Link company sign-in</button>" in profile
    assert User.objects.get(pk=ana.pk).oidc_subject is None
    assert client.get("/api/v1/me").json()["username"] == "ana"
    assert AuditEntry.objects.get(action="login.sso_failed").actor_label == "ana"


@pytest.mark.parametrize(("provider", "said"), [
    ("refuses", "127.0.0.1 did not let you sign in to Callboard"),
    ("no mapped group", "in no group that Callboard gives a role to"),
])
def test_a_link_the_provider_does_not_vouch_for_links_nothing_and_keeps_them_signed_in(
    oidc_provider, provider, said
):
    ana = UserFactory(username="ana", role=Role.OPERATOR)
    oidc_provider.user = {"sub": "idp-12", "email": "ana@example.com",
                          "groups": ["sales"] if provider == "no mapped group" else ["cb-ops"]}
    oidc_provider.error = "access_denied" if provider == "refuses" else ""
    client = signed_in(ana)

    response = link(client)

    assert response.url == reverse("profile")
    assert said in page(client, "profile")
    ana.refresh_from_db()
    assert ana.oidc_subject is None and ana.role == Role.OPERATOR


def test_a_later_sign_in_of_the_session_links_nothing(oidc_provider):
    """The mark is spent by the link's own callback: a company sign-in after it, in the same
    browser, is an ordinary one."""
    UserFactory(username="bo", oidc_subject="idp-14", role=Role.OPERATOR)
    ana = UserFactory(username="ana", role=Role.OPERATOR)
    oidc_provider.error = "access_denied"
    client = signed_in(ana)
    link(client)
    oidc_provider.error = ""
    oidc_provider.user = {"sub": "idp-14", "groups": ["cb-ops"]}

    sso_sign_in(client)

    assert client.get("/api/v1/me").json()["username"] == "bo"
    assert User.objects.get(pk=ana.pk).oidc_subject is None


def test_linking_asks_the_provider_for_the_password_even_in_a_signed_in_browser(
    oidc_provider
):
    """On a shared computer the provider's session may be a colleague's: a link makes the
    provider ask who is there (prompt=login), an ordinary sign-in does not."""
    oidc_provider.password = "company-password"
    colleagues_session = "colleague"
    oidc_provider.sessions.add(colleagues_session)
    ana = UserFactory(username="ana", role=Role.OPERATOR)
    client = signed_in(ana)

    def at_provider() -> requests.Response:
        start = client.get(reverse("oidc_login"))
        return requests.get(start.url, cookies={"idp_session": colleagues_session},
                            allow_redirects=False, timeout=10)

    assert at_provider().status_code == 302  # signing in: the provider's session will do
    client.post(reverse("sso_link"))
    assert "Sign in to the company" in at_provider().text


def test_the_profile_explains_linking_before_it_only_where_sso_is_set_up(settings):
    ana = UserFactory(username="ana", role=Role.OPERATOR)
    client = signed_in(ana)
    assert "Company sign-in" not in page(client, "profile")
    assert client.post(reverse("sso_link")).status_code == 404

    settings.OIDC_ISSUER, settings.OIDC_RP_CLIENT_ID = "https://sso.example.com", "callboard"
    profile = page(client, "profile")

    assert "<dt>You sign in with</dt><dd>A password</dd>" in profile
    assert "Link your company account at sso.example.com" in profile
    assert "Once linked, your role is set from your <code>groups</code> <abbr" in profile
    assert 'data-confirm="Link your company account at sso.example.com to ana? Your role then ' \
           'follows your groups there at every sign-in."' in profile


# Unlinking by an admin -----------------------------------------------------------------------

def test_an_admin_unlinks_a_user_from_their_page(oidc_provider, admin_user):
    ana = UserFactory(username="ana", oidc_subject="idp-20", role=Role.OPERATOR)
    admin = signed_in(admin_user)
    assert f'action="/users/{ana.pk}/sso/unlink/"' in page(admin, "user_edit", ana.pk)

    response = admin.post(reverse("user_sso_unlink", args=[ana.pk]))

    assert response.url == reverse("user_edit", args=[ana.pk])
    edited = page(admin, "user_edit", ana.pk)
    assert "ana is unlinked from single sign-on" in edited
    assert "<dt>Signs in with</dt><dd>A password</dd>" in edited
    assert User.objects.get(pk=ana.pk).oidc_subject is None
    assert AuditEntry.objects.get(action="user.sso_unlink").actor_label == "admin"


def test_a_user_only_single_sign_on_lets_in_is_not_unlinked(oidc_provider, admin_user):
    oidc_provider.user = {"sub": "idp-21", "email": "cy@example.com",
                          "preferred_username": "cy", "groups": ["cb-ops"]}
    sso_sign_in(Client())
    cy = User.objects.get(oidc_subject="idp-21")
    admin = signed_in(admin_user)

    edited = page(admin, "user_edit", cy.pk)
    refused = admin.post(reverse("user_sso_unlink", args=[cy.pk]))

    assert "Cannot unlink from single sign-on: cy has no password" in edited
    assert "sso/unlink/" not in edited
    assert refused.url == reverse("user_edit", args=[cy.pk])
    assert "unlinking would lock them out" in page(admin, "user_edit", cy.pk)
    assert User.objects.get(pk=cy.pk).oidc_subject == "idp-21"
