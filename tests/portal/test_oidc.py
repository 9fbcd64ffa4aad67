"""Single sign-on end to end: Callboard against a local OpenID Connect provider over HTTP.

The provider (tests/fakes/oidc_provider.py) runs on loopback; mozilla-django-oidc talks to
it for real (discovery, token, JWKS, userinfo). The browser's part, following redirects
between the two, is played by the test: Django's client for Callboard, requests for the
provider.
"""

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client
from django.urls import reverse

from portal.models import AuditEntry, Role, User
from tests.factories import PASSWORD, UserFactory
from tests.fakes.oidc_provider import (  # noqa: F401
    CLIENT_ID,
    OidcProvider,
    oidc_provider_fixture,
    sso_sign_in,
)

pytestmark = pytest.mark.django_db

ROLE_MAP = {"cb-admins": "admin", "cb-ops": "operator", "staff": "viewer"}


@pytest.fixture(autouse=True)
def role_map(settings):
    settings.OIDC_ROLE_MAP = ROLE_MAP


def test_a_new_user_signs_in_and_gets_the_role_their_group_maps_to(oidc_provider):
    oidc_provider.user = {
        "sub": "idp-4711",
        "email": "ana@example.com",
        "preferred_username": "ana",
        "groups": ["staff", "cb-ops"],
    }
    client = Client()

    response = sso_sign_in(client, next_url="/calls/")

    assert response.status_code == 302 and response.url == "/calls/"
    user = User.objects.get(oidc_subject="idp-4711")
    assert (user.username, user.email, user.role) == ("ana", "ana@example.com", Role.OPERATOR)
    assert not user.has_usable_password()
    assert client.get(reverse("call_new")).status_code == 200  # an operator's page
    created = AuditEntry.objects.get(action="user.create")
    assert created.changes == {"role": "operator", "via": "single sign-on"}


def test_the_role_follows_the_claim_at_every_sign_in(oidc_provider):
    oidc_provider.user = {"sub": "idp-1", "email": "bo@example.com", "groups": ["cb-admins"]}
    sso_sign_in(Client())
    assert User.objects.get(oidc_subject="idp-1").role == Role.ADMIN

    oidc_provider.user["groups"] = ["staff"]
    sso_sign_in(Client())

    user = User.objects.get(oidc_subject="idp-1")
    assert user.role == Role.VIEWER and User.objects.filter(oidc_subject="idp-1").count() == 1
    entry = AuditEntry.objects.get(action="user.update")
    assert entry.changes == {"role": ["admin", "viewer"]} and entry.actor_label == "system"


def test_a_user_in_no_mapped_group_is_refused_with_the_reason(oidc_provider):
    oidc_provider.user = {"sub": "idp-2", "email": "cy@example.com", "groups": ["sales"]}
    client = Client()

    response = sso_sign_in(client)

    assert response.url == reverse("login")
    page = client.get(reverse("login")).content.decode()
    assert "in no group that Callboard gives a role to" in page
    assert not User.objects.filter(oidc_subject="idp-2").exists()
    assert client.get(reverse("dashboard")).status_code == 302


def test_a_default_role_lets_unmapped_users_in(oidc_provider, settings):
    settings.OIDC_DEFAULT_ROLE = "viewer"
    oidc_provider.user = {"sub": "idp-3", "email": "di@example.com"}
    sso_sign_in(Client())
    assert User.objects.get(oidc_subject="idp-3").role == Role.VIEWER


def test_a_local_user_with_the_same_email_is_not_taken_over(oidc_provider, admin_user):
    oidc_provider.user = {"sub": "idp-5", "email": admin_user.email, "groups": ["staff"]}
    client = Client()
    sso_sign_in(client)

    assert client.get("/api/v1/me").json()["username"] != "admin"
    assert User.objects.get(pk=admin_user.pk).oidc_subject is None


def test_an_id_token_for_another_client_is_refused(oidc_provider):
    oidc_provider.user = {"sub": "idp-6", "email": "ed@example.com", "groups": ["staff"]}
    oidc_provider.audience = "another-app"
    client = Client()

    response = sso_sign_in(client)

    assert response.url == reverse("login")
    assert "Single sign-on did not complete" in client.get(reverse("login")).content.decode()
    assert not User.objects.filter(oidc_subject="idp-6").exists()


# The provider's claims come from mappers an administrator configured by hand: a list where
# text belongs, or text past a column, was a 500 creating the user.
@pytest.mark.parametrize("email", [["di@example.com"], "d" * 250 + "@example.com", "di\u0000@x.io"])
def test_an_email_claim_that_is_no_address_leaves_the_email_empty(oidc_provider, email):
    oidc_provider.user = {"sub": "idp-7", "email": email, "groups": ["staff"]}

    response = sso_sign_in(Client())

    assert response.status_code == 302 and response.url == "/"
    user = User.objects.get(oidc_subject="idp-7")
    assert user.email == "" and user.username.startswith("sso-")


@pytest.mark.parametrize("subject", [4711, "s" * 256])
def test_a_subject_that_is_no_openid_identifier_is_refused(oidc_provider, subject):
    oidc_provider.user = {"sub": subject, "email": "fa@example.com", "groups": ["staff"]}
    client = Client()

    response = sso_sign_in(client)

    assert response.url == reverse("login")
    assert "Single sign-on did not complete" in client.get(reverse("login")).content.decode()
    assert not User.objects.filter(email="fa@example.com").exists()


def test_sso_is_absent_until_configured(client):
    assert client.get(reverse("oidc_login")).status_code == 404
    assert "single sign-on" not in client.get(reverse("login")).content.decode()


def test_settings_say_how_to_set_up_single_sign_on_while_it_is_off(client_for, admin_user):
    """It is set in the environment only: no page said whether it was on, nor which redirect
    URI to register at the identity provider first."""
    page = client_for(admin_user).get(reverse("settings")).content.decode()
    assert "Single sign-on" in page
    assert '<code id="sso-redirect-uri">http://testserver/login/sso/callback/</code>' in page
    assert "<code>OIDC_ISSUER</code>" in page


def test_settings_say_how_single_sign_on_is_set_up_and_never_its_secret(
    oidc_provider, settings, client_for, admin_user
):
    settings.OIDC_DEFAULT_ROLE = "viewer"
    page = client_for(admin_user).get(reverse("settings")).content.decode()
    assert f"<code>{settings.OIDC_ISSUER}</code>" in page
    assert f"<code>{settings.OIDC_RP_CLIENT_ID}</code>" in page
    assert "<code>cb-admins</code> → Admin, <code>cb-ops</code> → Operator" in page
    assert "signs in as Viewer" in page
    assert settings.OIDC_RP_CLIENT_SECRET not in page


def test_password_sign_in_can_be_turned_off_but_the_break_glass_admin_keeps_it(
    oidc_provider, settings, admin_user, operator_user
):
    settings.PASSWORD_SIGN_IN = False
    page = Client().get(reverse("login")).content.decode()
    assert "Sign in with single sign-on" in page and 'name="password"' not in page

    refused = Client().post(reverse("login"), {"username": "operator", "password": PASSWORD})
    assert "password sign-in is off" in refused.content.decode()
    admin = Client().post(
        reverse("login") + "?local=1", {"username": "admin", "password": PASSWORD}
    )
    assert admin.status_code == 302


def test_the_setup_link_still_makes_a_local_admin_with_sso_on(oidc_provider, settings, client):
    from portal.services import setup_token

    settings.PASSWORD_SIGN_IN = False
    response = client.post(
        reverse("setup", args=[setup_token()]),
        {
            "username": "root",
            "email": "",
            "password": "break-glass-passphrase-1",
            "password_again": "break-glass-passphrase-1",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="root")
    assert user.role == Role.ADMIN and user.oidc_subject is None
    assert (
        Client()
        .post(reverse("login"), {"username": "root", "password": "break-glass-passphrase-1"})
        .status_code
        == 302
    )


def test_an_sso_user_still_needs_the_second_factor_their_role_requires(oidc_provider):
    from portal.models import SecurityPolicy

    SecurityPolicy.objects.create(pk=1, two_factor_operator=True)
    oidc_provider.user = {"sub": "idp-7", "email": "fa@example.com", "groups": ["cb-ops"]}
    client = Client()
    sso_sign_in(client)
    response = client.get(reverse("dashboard"))
    assert response.url.startswith(reverse("two_factor_setup"))


def test_a_deactivated_sso_user_cannot_sign_in(oidc_provider):
    UserFactory(username="gone", oidc_subject="idp-8", is_active=False, role=Role.VIEWER)
    oidc_provider.user = {"sub": "idp-8", "email": "gone@example.com", "groups": ["staff"]}
    client = Client()
    sso_sign_in(client)
    assert client.get(reverse("dashboard")).status_code == 302
    # They proved who they are: "did not complete … check the identity provider" sent them
    # and their admin to the wrong place.
    assert "Your Callboard account gone is deactivated" in login_page(client)


def test_a_provider_that_is_down_gives_a_sign_in_failed_page(oidc_provider):
    oidc_provider.stop()
    client = Client()

    response = client.get(reverse("oidc_login"))

    assert response.status_code == 302 and response.url == reverse("login")
    page = client.get(reverse("login")).content.decode()
    assert "Signing in with 127.0.0.1 failed. Try again in a moment" in page
    assert AuditEntry.objects.filter(action="login.sso_failed").count() == 1


def test_a_provider_too_slow_at_the_callback_gives_a_sign_in_failed_page(
    oidc_provider, settings
):
    """The discovery answer cached at the start had expired by the callback (an hour's
    cache), and the provider answered it slower than OIDC_TIMEOUT: that was a 500."""
    from django.core.cache import cache

    oidc_provider.user = {"sub": "idp-9", "email": "gu@example.com", "groups": ["staff"]}
    client = Client()
    start = client.get(reverse("oidc_login"))
    back = urlsplit(requests.get(start.url, allow_redirects=False, timeout=10).headers["Location"])
    cache.clear()
    settings.OIDC_TIMEOUT = 0.2
    oidc_provider.delay = 1

    response = client.get(f"{back.path}?{back.query}")

    oidc_provider.delay = 0
    assert response.status_code == 302 and response.url == reverse("login")
    page = client.get(reverse("login")).content.decode()
    assert "Signing in with 127.0.0.1 failed. Try again in a moment" in page
    assert not User.objects.filter(oidc_subject="idp-9").exists()


def login_page(client: Client) -> str:
    """The sign-in page's text, its apostrophes unescaped."""
    return html.unescape(client.get(reverse("login")).content.decode())


# An admin's mistakes setting single sign-on up: each was "try again in a moment" (which
# cannot help) or, for an issuer the provider does not call itself, a bare 400 page.
@pytest.mark.parametrize(("wrong_issuer", "said"), [
    (lambda issuer: issuer.replace("127.0.0.1", "localhost"),
     "its configuration names the issuer http://127.0.0.1:"),
    (lambda issuer: issuer + "/realms/callboard",
     "it has no OpenID Connect configuration at http://127.0.0.1:"),
])
def test_an_issuer_url_that_is_not_the_providers_is_explained(
    oidc_provider, settings, wrong_issuer, said
):
    settings.OIDC_ISSUER = wrong_issuer(oidc_provider.issuer)
    client = Client()

    response = client.get(reverse("oidc_login"))

    assert response.status_code == 302 and response.url == reverse("login")
    page = login_page(client)
    assert "Single sign-on is not set up to match" in page and said in page
    assert AuditEntry.objects.get(action="login.sso_failed").changes["reason"].endswith(
        "Ask an administrator to check Callboard's single sign-on settings.")


def test_a_wrong_client_secret_is_named_and_never_shown(oidc_provider, settings):
    settings.OIDC_RP_CLIENT_SECRET = "a-wrong-client-secret"
    oidc_provider.user = {"sub": "idp-10", "email": "ha@example.com", "groups": ["staff"]}
    client = Client()

    sso_sign_in(client)

    page = login_page(client)
    assert "it refused Callboard's client ID or client secret" in page
    assert "a-wrong-client-secret" not in page
    assert not User.objects.filter(oidc_subject="idp-10").exists()


@pytest.mark.parametrize(("error", "said"), [
    ("access_denied", "127.0.0.1 did not let you sign in to Callboard"),
    ("invalid_scope", "it refused Callboard's sign-in request (invalid_scope)"),
    ("temporarily_unavailable", "Signing in with 127.0.0.1 failed. Try again in a moment"),
])
def test_the_providers_refusal_is_explained(oidc_provider, error, said):
    oidc_provider.error = error
    client = Client()

    response = sso_sign_in(client)

    assert response.url == reverse("login")
    assert said in login_page(client)


def test_a_callback_this_session_did_not_start_asks_to_sign_in_again(oidc_provider):
    """A stale tab, or a session ended while at the provider: that was a bare 400."""
    client = Client()
    client.get(reverse("oidc_login"))  # this session's own sign-in, with its own state

    response = client.get(reverse("oidc_callback") + "?code=abc&state=another-sign-in")

    assert response.status_code == 302 and response.url == reverse("login")
    assert "This sign-in was started in another browser or too long ago" in login_page(client)


def test_an_sso_users_page_shows_their_role_read_only_while_groups_set_it(
    oidc_provider, client_for, admin_user
):
    """An admin's role change there was undone at the user's next sign-in (the page only
    warned of it), and nothing told a user who signs in by single sign-on from a local one of
    the same e-mail."""
    ana = UserFactory(username="ana", oidc_subject="idp-11", role=Role.OPERATOR)
    admin = client_for(admin_user)

    page = html.unescape(admin.get(reverse("user_edit", args=[ana.pk])).content.decode())

    assert re.search(r'<select name="role"[^>]*disabled', page)
    assert "their role is set from their <code>groups</code> <abbr" in page
    assert "change their groups at the identity provider" in page
    assert "Single sign-on (the identity provider's user <code>idp-11</code>)" in page
    saved = admin.post(reverse("user_edit", args=[ana.pk]), {"role": "admin", "is_active": ""})
    assert saved.status_code == 302
    ana.refresh_from_db()
    assert (ana.role, ana.is_active) == (None, False) and ana.assigned_role == Role.OPERATOR
    local = admin.get(reverse("user_edit", args=[admin_user.pk])).content.decode()
    assert "<dt>Signs in with</dt><dd>A password</dd>" in local and "claim at every" not in local
    assert not re.search(r'<select name="role"[^>]*disabled', local)


def test_the_api_refuses_a_role_the_provider_sets_naming_role(oidc_provider, api_for, admin_user):
    ana = UserFactory(username="ana", oidc_subject="idp-12", role=Role.OPERATOR)
    api = api_for(admin_user)
    url = f"/api/v1/users/{ana.pk}"

    refused = api.patch(url, {"role": "admin"}, format="json")

    assert refused.status_code == 400, refused.json()
    assert "identity provider" in refused.json()["fields"]["role"][0]
    assert User.objects.get(pk=ana.pk).role == Role.OPERATOR
    # The role it holds, sent back unchanged (a read-modify-write), is no change: accepted.
    same = api.patch(url, {"role": "operator", "is_active": False}, format="json")
    assert same.status_code == 200 and same.json()["is_active"] is False


def test_without_a_role_map_an_admins_role_choice_stays_at_the_next_sign_in(
    oidc_provider, settings, api_for, admin_user
):
    """Everyone gets OIDC_DEFAULT_ROLE: the provider says nothing of roles, so a sign-in put
    the default back over the role an admin gave."""
    settings.OIDC_ROLE_MAP = {}
    settings.OIDC_DEFAULT_ROLE = "viewer"
    oidc_provider.user = {"sub": "idp-13", "email": "jo@example.com"}
    sso_sign_in(Client())
    jo = User.objects.get(oidc_subject="idp-13")
    assert jo.role == Role.VIEWER

    changed = api_for(admin_user).patch(f"/api/v1/users/{jo.pk}", {"role": "operator"},
                                        format="json")
    assert changed.status_code == 200, changed.json()
    sso_sign_in(Client())

    assert User.objects.get(pk=jo.pk).role == Role.OPERATOR


def test_signing_out_ends_the_providers_session_too(oidc_provider):
    """Sign out ended Callboard's session only: the next "Sign in with single sign-on" came
    straight back without a password, on a shared desk too (RP-Initiated Logout 1.0)."""
    oidc_provider.user = {"sub": "idp-14", "email": "ka@example.com", "groups": ["staff"]}
    client = Client()
    sso_sign_in(client)

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    url = urlsplit(response.url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{oidc_provider.issuer}/logout"
    assert parse_qs(url.query) == {
        "client_id": [CLIENT_ID],
        "post_logout_redirect_uri": ["http://testserver/signed-out/"],
        "id_token_hint": [oidc_provider.id_tokens[-1]],
    }
    back = requests.get(response.url, allow_redirects=False, timeout=10)
    assert back.status_code == 302 and back.headers["Location"] == "http://testserver/signed-out/"
    assert len(oidc_provider.logouts) == 1
    assert client.get(reverse("dashboard")).status_code == 302  # signed out here too
    page = html.unescape(client.get(reverse("signed_out")).content.decode())
    assert "You are signed out of Callboard." in page and "may still be signed in" not in page


@pytest.mark.parametrize("provider", ["without end_session", "down", "ending elsewhere"])
def test_a_provider_session_left_open_is_said_on_the_signed_out_page(oidc_provider, provider):
    oidc_provider.end_session = provider == "down"  # one that is down offers it, to no avail
    if provider == "ending elsewhere":  # off the issuer's origin, which form-action allows
        oidc_provider.discovery = lambda: {
            **OidcProvider.discovery(oidc_provider),
            "end_session_endpoint": "https://sso.example.net/logout"}
    oidc_provider.user = {"sub": "idp-15", "email": "lu@example.com", "groups": ["staff"]}
    client = Client()
    sso_sign_in(client)
    if provider == "down":
        from django.core.cache import cache

        cache.clear()
        oidc_provider.stop()

    response = client.post(reverse("logout"))

    assert response.status_code == 302 and response.url == "/signed-out/?provider=open"
    assert client.get(reverse("dashboard")).status_code == 302
    page = html.unescape(client.get(response.url).content.decode())
    assert "Your company account at 127.0.0.1 may still be signed in" in page
    assert "sign out there too" in page


@pytest.mark.parametrize("linked", [False, True], ids=["password only", "linked to SSO"])
def test_a_password_user_signs_out_to_the_signed_out_page(oidc_provider, operator_user, linked):
    """A user linked to single sign-on who signed in with their password holds no session at
    the provider: Sign out does not send them there."""
    if linked:
        operator_user.oidc_subject = "idp-16"
        operator_user.save(update_fields=["oidc_subject"])
    client = Client()
    client.force_login(operator_user, backend="django.contrib.auth.backends.ModelBackend")

    response = client.post(reverse("logout"))

    assert response.status_code == 302 and response.url == reverse("signed_out")
    page = client.get(response.url).content.decode()
    assert "You are signed out of Callboard." in page and "may still be signed in" not in page
    assert "Sign in with single sign-on" in page and oidc_provider.logouts == []


def test_sign_out_is_a_post_with_the_csrf_token(oidc_provider, operator_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator_user)

    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 403
    assert client.get(reverse("dashboard")).status_code == 200  # still signed in


def test_settings_name_the_post_logout_redirect_uri(oidc_provider, client_for, admin_user):
    page = client_for(admin_user).get(reverse("settings")).content.decode()
    assert "<code>http://testserver/signed-out/</code>" in page


def test_pages_let_sign_out_lead_to_the_provider(oidc_provider, client):
    """Browsers hold a form's redirects to the page's form-action: Sign out's answer, sending
    the browser to the provider's end_session_endpoint, was blocked there ('self' only)."""
    policy = client.get(reverse("login")).headers["Content-Security-Policy"]
    assert f"form-action 'self' {oidc_provider.issuer};" in policy
