"""Every route of the URL configuration, for every persona, against one table of who may do what.

The routes are enumerated from `get_resolver()`: a route that is not in ROUTES fails
`test_every_route_is_in_the_table`, so nobody adds a page or an endpoint without deciding
who may use it. Each route is then requested with each method in the table as anonymous,
a signed-in user without a role (outsider), viewer, operator and admin: the personas below
the minimum must be refused (401, 403, or sent to sign in), those at or above it must not
be, and nobody may get a 5xx.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from calls.models import Call, CallEvent
from portal.models import ApiToken, TokenScope, User
from portal.services import SYSTEM, api_token_create
from tests.security.routes import Route, admin_url, routes, url_for
from tests.security.world import TALK

# Minimum access, lowest first; a persona's rank is its index in PERSONAS.
ANYONE, SIGNED_IN, VIEWER, OPERATOR, ADMIN, NOBODY = range(6)
PERSONAS = ("anonymous", "outsider", "viewer", "operator", "admin")
# Routes not guarded by roles at all:
HOOK = "hook"  # providers' webhooks: the secret token in the path and a signature decide
MACHINE = "machine"  # the sandbox's Vonage APIs: a Vonage JWT or API key, never a session
CLOSED = "closed"  # first-run setup: gone (404) for everyone once a user exists

ROUTES: dict[str, dict[str, int | str]] = {
    # portal
    "login": {"GET": ANYONE, "POST": ANYONE},
    "logout": {"POST": ANYONE},
    "signed_out": {"GET": ANYONE},  # signed-in users are sent to the dashboard
    "oidc_login": {"GET": ANYONE},  # 404 until single sign-on is set up
    "oidc_callback": {"GET": ANYONE},
    "password_reset": {"GET": ANYONE, "POST": ANYONE},
    "password_reset_done": {"GET": ANYONE},
    "password_reset_confirm": {"GET": ANYONE, "POST": ANYONE},
    "password_reset_complete": {"GET": ANYONE},
    "setup": {"GET": CLOSED, "POST": CLOSED},
    "healthz": {"GET": ANYONE},
    "profile": {"GET": SIGNED_IN, "POST": SIGNED_IN},
    "password_change": {"GET": SIGNED_IN, "POST": SIGNED_IN},
    "sso_link": {"POST": SIGNED_IN},  # 404 until single sign-on is set up
    "token_revoke": {"POST": SIGNED_IN},  # one's own tokens only: OWNED
    "sign_out_everywhere": {"POST": SIGNED_IN},
    "session_sign_out": {"POST": SIGNED_IN},  # one's own sessions only: OWNED
    "two_factor_verify": {"GET": SIGNED_IN, "POST": SIGNED_IN},
    "two_factor_setup": {"GET": SIGNED_IN, "POST": SIGNED_IN},
    "two_factor_qr": {"GET": SIGNED_IN},
    "user_two_factor_reset": {"POST": ADMIN},
    "user_unlock": {"POST": ADMIN},
    "user_sso_unlink": {"POST": ADMIN},  # 404 until single sign-on is set up
    "security_policy": {"POST": ADMIN},
    "user_list": {"GET": ADMIN},
    "user_create": {"GET": ADMIN, "POST": ADMIN},
    "user_edit": {"GET": ADMIN, "POST": ADMIN},
    "audit_list": {"GET": ADMIN},
    "settings": {"GET": ADMIN, "POST": ADMIN},
    # calls
    "dashboard": {"GET": VIEWER},
    "dashboard_live": {"GET": VIEWER},
    "call_list": {"GET": VIEWER},
    "call_list_live": {"GET": VIEWER},
    "call_list_csv": {"GET": VIEWER},
    "call_detail": {"GET": VIEWER},
    "call_detail_live": {"GET": VIEWER},
    "call_new": {"GET": OPERATOR, "POST": OPERATOR},
    "test_call": {"POST": OPERATOR},
    "sandbox_test_call": {"POST": OPERATOR},  # test_call's old address
    "call_control": {"POST": OPERATOR},
    "delivery_list": {"GET": OPERATOR},
    "delivery_list_live": {"GET": OPERATOR},
    "delivery_replay": {"POST": ADMIN},
    "call_profile_list": {"GET": VIEWER},
    "call_profile_create": {"GET": OPERATOR, "POST": OPERATOR},
    "call_profile_edit": {"GET": OPERATOR, "POST": OPERATOR},
    "call_profile_delete": {"POST": OPERATOR},
    "hook_answer": {"GET": HOOK, "POST": HOOK},
    "hook_menu": {"GET": HOOK, "POST": HOOK},
    "hook_transfer": {"GET": HOOK, "POST": HOOK},
    "hook_events": {"GET": HOOK, "POST": HOOK},
    "hook_voicegateway": {"POST": HOOK},
    # campaigns
    "campaign_list": {"GET": VIEWER},
    "campaign_list_live": {"GET": VIEWER},
    "campaign_create": {"GET": OPERATOR, "POST": OPERATOR},
    "campaign_detail": {"GET": VIEWER},
    "campaign_edit": {"GET": OPERATOR, "POST": OPERATOR},
    "campaign_board_live": {"GET": VIEWER},
    "campaign_contacts_live": {"GET": VIEWER},
    "campaign_upload": {"POST": OPERATOR},
    "campaign_preview": {"GET": VIEWER},
    "campaign_results_csv": {"GET": VIEWER},
    "campaign_action": {"POST": OPERATOR},
    "campaign_rehearse": {"POST": OPERATOR},
    "campaign_copy": {"POST": OPERATOR},
    "campaign_delete": {"POST": OPERATOR},
    "suppression_list_list": {"GET": VIEWER, "POST": OPERATOR},
    "suppression_list_detail": {"GET": VIEWER, "POST": OPERATOR},
    "suppression_list_number_remove": {"POST": ADMIN},
    # alerts: the page for anyone with a role, rules and channels for admins
    "alert_list": {"GET": VIEWER},
    "alert_list_live": {"GET": VIEWER},
    "alert_settings": {"GET": ADMIN},
    "alert_rule_create": {"GET": ADMIN, "POST": ADMIN},
    "alert_rule_edit": {"GET": ADMIN, "POST": ADMIN},
    "alert_rule_delete": {"POST": ADMIN},
    "alert_channel_create": {"GET": ADMIN, "POST": ADMIN},
    "alert_channel_edit": {"GET": ADMIN, "POST": ADMIN},
    "alert_channel_delete": {"POST": ADMIN},
    "alert_channel_test": {"POST": ADMIN},
    # Prometheus: METRICS_TOKEN or METRICS_ALLOWED_NETWORKS, never a session or API token
    "metrics": {"GET": MACHINE},
    "system_status": {"GET": ADMIN},
    "system_status_live": {"GET": ADMIN},
    # event forwarding
    "forwarding_list": {"GET": ADMIN},
    "forwarding_create": {"GET": ADMIN, "POST": ADMIN},
    "forwarding_detail": {"GET": ADMIN},
    "forwarding_edit": {"GET": ADMIN, "POST": ADMIN},
    "forwarding_log_live": {"GET": ADMIN},
    "forwarding_secret": {"POST": ADMIN},
    "forwarding_enable": {"POST": ADMIN},
    "forwarding_disable": {"POST": ADMIN},
    "forwarding_delete": {"POST": ADMIN},
    "forwarding_replay": {"POST": ADMIN},
    "forwarding_delivery_replay": {"POST": ADMIN},
    # NCCOs
    "ncco_list": {"GET": VIEWER},
    "ncco_create": {"GET": OPERATOR, "POST": OPERATOR},
    "ncco_edit": {"GET": VIEWER, "POST": OPERATOR},
    "ncco_history": {"GET": VIEWER},
    "ncco_version": {"GET": VIEWER},
    "ncco_restore": {"POST": OPERATOR},
    "ncco_delete": {"GET": OPERATOR, "POST": OPERATOR},
    # provider accounts: credentials and base URLs are the admins'
    "account_list": {"GET": VIEWER},
    "account_create": {"GET": ADMIN, "POST": ADMIN},
    "account_detail": {"GET": VIEWER},
    "account_edit": {"GET": ADMIN, "POST": ADMIN},
    "account_delete": {"POST": ADMIN},
    "account_test": {"POST": ADMIN},
    "account_regenerate_token": {"POST": ADMIN},
    "account_retire": {"POST": ADMIN},
    "account_reactivate": {"POST": ADMIN},
    # applications and numbers
    "application_list": {"GET": VIEWER},
    "application_create": {"GET": OPERATOR, "POST": OPERATOR},
    "application_import": {"GET": OPERATOR, "POST": OPERATOR},
    "application_detail": {"GET": VIEWER},
    "application_edit": {"GET": OPERATOR, "POST": OPERATOR},
    "application_delete": {"POST": OPERATOR},
    "application_push": {"POST": OPERATOR},
    "application_keypair": {"POST": OPERATOR},
    "application_private_key": {"GET": ADMIN, "POST": ADMIN},
    "number_list": {"GET": VIEWER},
    "number_create": {"GET": OPERATOR, "POST": OPERATOR},
    "number_import": {"GET": OPERATOR, "POST": OPERATOR},
    "number_detail": {"GET": VIEWER},
    "number_edit": {"GET": OPERATOR, "POST": OPERATOR},
    "number_delete": {"POST": OPERATOR},
    "number_link": {"POST": OPERATOR},
    # sandbox
    "sandbox_calls": {"GET": MACHINE, "POST": MACHINE},
    "sandbox_call": {"GET": MACHINE, "PUT": MACHINE},
    "sandbox_call_talk": {"PUT": MACHINE, "DELETE": MACHINE},
    "sandbox_call_stream": {"PUT": MACHINE, "DELETE": MACHINE},
    "sandbox_call_dtmf": {"PUT": MACHINE},
    "sandbox_recording": {"GET": MACHINE},
    "sandbox_transcript": {"GET": MACHINE},
    "sandbox_applications": {"GET": MACHINE, "POST": MACHINE},
    "sandbox_application": {"GET": MACHINE, "PUT": MACHINE, "DELETE": MACHINE},
    "sandbox_numbers": {"GET": MACHINE},
    "sandbox_jb_account": {"GET": MACHINE},
    "sandbox_jb_calls": {"GET": MACHINE, "POST": MACHINE},
    "sandbox_jb_call": {"GET": MACHINE, "PUT": MACHINE, "POST": MACHINE},
    "sandbox_jb_recording": {"GET": MACHINE, "DELETE": MACHINE},
    "sandbox_jb_applications": {"GET": MACHINE, "POST": MACHINE},
    "sandbox_jb_application": {"GET": MACHINE, "PUT": MACHINE},
    "sandbox_jb_numbers": {"GET": MACHINE},
    "sandbox_jb_number": {"PUT": MACHINE},
    "sandbox_number_update": {"POST": MACHINE},
    # API: documentation is public, everything else needs a role
    "api_schema": {"GET": ANYONE},
    "api_docs": {"GET": ANYONE},
    "api_not_found": {"GET": ANYONE, "POST": ANYONE},  # a JSON 404 for any API typo
    "api_me": {"GET": VIEWER},
    "api_tokens": {"GET": VIEWER, "POST": VIEWER},
    "api_token": {"GET": VIEWER, "DELETE": VIEWER},  # one's own tokens only: OWNED
    "api_users": {"GET": ADMIN, "POST": ADMIN},
    "api_user": {"GET": ADMIN, "PATCH": ADMIN},
    "api_user_unlock": {"POST": ADMIN},
    "api_user_two_factor_reset": {"POST": ADMIN},
    "api_audit": {"GET": ADMIN},
    "api_retention": {"GET": ADMIN, "PATCH": ADMIN},
    "api_security_policy": {"GET": ADMIN, "PATCH": ADMIN},
    "api_ncco_validate": {"POST": VIEWER},
    "api_ncco_render": {"POST": VIEWER},
    "api_nccos": {"GET": VIEWER, "POST": OPERATOR},
    "api_ncco": {"GET": VIEWER, "PUT": OPERATOR, "PATCH": OPERATOR, "DELETE": OPERATOR},
    "api_ncco_diff": {"GET": VIEWER},
    "api_ncco_versions": {"GET": VIEWER},
    "api_ncco_version": {"GET": VIEWER},
    "api_ncco_restore": {"POST": OPERATOR},
    "api_accounts": {"GET": VIEWER, "POST": ADMIN},
    "api_account": {"GET": VIEWER, "PATCH": ADMIN, "DELETE": ADMIN},
    "api_account_test": {"POST": ADMIN},
    "api_account_regenerate_token": {"POST": ADMIN},
    "api_account_retire": {"POST": ADMIN},
    "api_account_reactivate": {"POST": ADMIN},
    "api_account_remote_applications": {"GET": VIEWER},
    "api_applications": {"GET": VIEWER, "POST": OPERATOR},
    "api_application_import": {"POST": OPERATOR},
    "api_application": {"GET": VIEWER, "PATCH": OPERATOR, "DELETE": OPERATOR},
    "api_application_push": {"POST": OPERATOR},
    "api_application_keypair": {"POST": OPERATOR},
    "api_numbers": {"GET": VIEWER, "POST": OPERATOR},
    "api_number_import": {"POST": OPERATOR},
    "api_number": {"GET": VIEWER, "PATCH": OPERATOR, "DELETE": OPERATOR},
    "api_number_link": {"POST": OPERATOR},
    "api_calls": {"GET": VIEWER, "POST": OPERATOR},
    "api_call_export": {"GET": VIEWER},
    "api_dashboard": {"GET": VIEWER},
    "api_test_call": {"GET": OPERATOR, "POST": OPERATOR},
    "api_call": {"GET": VIEWER},
    "api_call_events": {"GET": VIEWER},
    "api_call_hangup": {"POST": OPERATOR},
    "api_call_mute": {"POST": OPERATOR},
    "api_call_unmute": {"POST": OPERATOR},
    "api_call_earmuff": {"POST": OPERATOR},
    "api_call_unearmuff": {"POST": OPERATOR},
    "api_call_transfer": {"POST": OPERATOR},
    "api_call_talk": {"POST": OPERATOR, "DELETE": OPERATOR},
    "api_call_stream": {"POST": OPERATOR, "DELETE": OPERATOR},
    "api_call_dtmf": {"POST": OPERATOR},
    "api_call_listen": {"POST": OPERATOR},
    "api_webhook_deliveries": {"GET": OPERATOR},
    "api_webhook_delivery_replay": {"POST": ADMIN},
    "api_call_profiles": {"GET": VIEWER, "POST": OPERATOR},
    "api_call_profile": {"GET": VIEWER, "PATCH": OPERATOR, "DELETE": OPERATOR},
    "api_forwarding_subscriptions": {"GET": ADMIN, "POST": ADMIN},
    "api_forwarding_subscription": {"GET": ADMIN, "PATCH": ADMIN, "DELETE": ADMIN},
    "api_forwarding_subscription_secret": {"POST": ADMIN},
    "api_forwarding_subscription_deliveries": {"GET": ADMIN},
    "api_forwarding_subscription_replay": {"POST": ADMIN},
    "api_forwarding_delivery_replay": {"POST": ADMIN},
    "api_campaigns": {"GET": VIEWER, "POST": OPERATOR},
    "api_campaign": {"GET": VIEWER, "PATCH": OPERATOR, "DELETE": OPERATOR},
    "api_campaign_contacts": {"GET": VIEWER, "POST": OPERATOR},
    "api_campaign_import": {"GET": VIEWER},
    "api_campaign_preview": {"GET": VIEWER},
    "api_campaign_board": {"GET": VIEWER},
    "api_campaign_results": {"GET": VIEWER},
    "api_campaign_start": {"POST": OPERATOR},
    "api_campaign_pause": {"POST": OPERATOR},
    "api_campaign_resume": {"POST": OPERATOR},
    "api_campaign_stop": {"POST": OPERATOR},
    "api_campaign_rehearse": {"POST": OPERATOR},
    "api_campaign_copy": {"POST": OPERATOR},
    "api_suppression_lists": {"GET": VIEWER, "POST": OPERATOR},
    "api_suppression_list": {"GET": VIEWER},
    "api_suppression_list_numbers": {"GET": VIEWER, "POST": OPERATOR},
    "api_suppression_list_number": {"GET": VIEWER, "DELETE": ADMIN},
    # recordings (the audio also needs a link signed for the user: tests/recordings)
    "recording_list": {"GET": VIEWER},
    "call_media_live": {"GET": VIEWER},
    "recording_audio": {"GET": VIEWER},
    "recording_delete": {"POST": ADMIN},
    "recording_retention": {"GET": ADMIN},
    "recording_retention_edit": {"GET": ADMIN, "POST": ADMIN},
    "api_recordings": {"GET": VIEWER},
    "api_recording": {"GET": VIEWER, "DELETE": ADMIN},
    "api_recording_download": {"GET": VIEWER},
    "api_recording_retention": {"GET": ADMIN, "PATCH": ADMIN},
    "api_alerts": {"GET": VIEWER},
    "api_alert_rules": {"GET": ADMIN, "POST": ADMIN},
    "api_alert_rule": {"GET": ADMIN, "PATCH": ADMIN, "DELETE": ADMIN},
    "api_alert_channels": {"GET": ADMIN, "POST": ADMIN},
    "api_alert_channel": {"GET": ADMIN, "PATCH": ADMIN, "DELETE": ADMIN},
    "api_alert_channel_test": {"POST": ADMIN},
}
# The Django admin (namespace "admin"): staff only, which among our roles means admins.
ADMIN_SITE = {
    "admin:login": {"GET": ANYONE, "POST": ANYONE},
    "admin:logout": {"POST": ANYONE},
    # Autocomplete answers only the admin's own widgets' queries.
    "admin:autocomplete": {"GET": NOBODY},
}
ADMIN_SITE_DEFAULT = {"GET": ADMIN}
# The admin is read-only (portal/admin.py): its add, delete and password pages open to nobody.
ADMIN_SITE_WRITES = re.compile(r"admin:\w+_(add|delete|password_change)")


def admin_site_entry(name: str) -> dict[str, int]:
    if ADMIN_SITE_WRITES.fullmatch(name):
        return {"GET": NOBODY}
    return ADMIN_SITE.get(name, ADMIN_SITE_DEFAULT)
# Objects that belong to one user: another user (even an admin) must not reach them.
OWNED = ("token_revoke", "api_token")


ALL_ROUTES = {route.name: route for route in routes()}
SITE_ROUTES = sorted(name for name in ALL_ROUTES if not name.startswith("admin:"))
ADMIN_ROUTES = sorted(name for name in ALL_ROUTES if name.startswith("admin:"))


def test_every_route_is_in_the_table():
    missing = sorted(set(SITE_ROUTES) - set(ROUTES))
    stale = sorted(set(ROUTES) - set(SITE_ROUTES))

    assert not missing, (
        f"Routes without a permission entry: {missing}. Add each to ROUTES in "
        "tests/security/test_permission_matrix.py with the lowest role allowed per HTTP method "
        "(ANYONE, SIGNED_IN, VIEWER, OPERATOR, ADMIN, or HOOK/MACHINE), and make the view "
        "enforce it."
    )
    assert not stale, f"ROUTES names routes that no longer exist: {stale}; remove them."


@pytest.mark.parametrize("name", [n for n in SITE_ROUTES if ALL_ROUTES[n].is_api])
def test_the_table_lists_exactly_the_methods_each_api_view_answers(name):
    view_class = ALL_ROUTES[name].view_class
    implemented = {m.upper() for m in ("get", "post", "put", "patch", "delete")
                   if hasattr(view_class, m)}
    assert set(ROUTES.get(name, {})) == implemented, (
        f"{name} answers {sorted(implemented)}; ROUTES lists {sorted(ROUTES.get(name, {}))}")


# Requests -----------------------------------------------------------------------------------

@pytest.fixture
def admin_user(world) -> User:
    """The world's administrator (tests/security/conftest.py builds one world per module,
    whose provider requests go nowhere, at once: a private address the tests do not allow,
    and for the sandbox a closed local port)."""
    return world.admin


@pytest.fixture
def clients(personas) -> dict[str, tuple[Client, APIClient]]:
    """Per persona: a signed-in page client and an API client with the persona's token."""
    made = {}
    for persona in PERSONAS:
        user = personas.get(persona)
        page, api = Client(), APIClient()
        if user is not None:
            page.force_login(user)
            _, raw = api_token_create(actor=SYSTEM, user=user, name="matrix")
            api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        made[persona] = (page, api)
    return made


def send(persona: str, clients, route: Route, method: str, url: str):
    page, api = clients[persona]
    client = api if route.is_api else page
    if route.is_api:
        return client.generic(method, url, "{}", content_type="application/json")
    return client.generic(method, url, "", content_type="application/x-www-form-urlencoded")


def provider_error(response) -> bool:
    """A 502 that says the provider could not be reached: Callboard itself is fine."""
    return response.status_code == 502 and response.json()["error"] == "provider_error"


def refused(response) -> bool:
    """Refused for lack of rights: 401/403, or sent to sign in (pages, htmx, Django admin)."""
    if response.status_code in (401, 403):
        return True
    location = response.headers.get("Location", "") + response.headers.get("HX-Redirect", "")
    return "login/" in location and (
        "next=" in location or response.headers.get("HX-Redirect") is not None)


@pytest.mark.parametrize("name", SITE_ROUTES)
def test_each_route_lets_in_exactly_the_roles_in_the_table(name, world, clients):
    route = ALL_ROUTES[name]
    if name not in ROUTES:
        pytest.fail(f"{name} is not in ROUTES (see test_every_route_is_in_the_table)")
    url = url_for(route, world)
    for method, minimum in ROUTES[name].items():
        statuses = {}
        # Lowest first: a permitted destructive request comes after every refused one.
        for rank, persona in enumerate(PERSONAS):
            response = send(persona, clients, route, method, url)
            statuses[persona] = response.status_code
            assert response.status_code < 500 or provider_error(response), (
                f"{method} {url} as {persona}: a 5xx")
            if minimum == HOOK:
                # A session or token grants nothing: unsigned requests are refused alike.
                assert response.status_code in (401, 403, 404), (method, url, persona)
            elif minimum == MACHINE:
                assert response.status_code == 401, (method, url, persona, response.content)
            elif minimum == CLOSED:
                assert response.status_code == 404, (method, url, persona)
            elif rank < minimum:
                assert refused(response), (
                    f"{method} {url} as {persona} should be refused "
                    f"(needs {PERSONAS[minimum]}), got {response.status_code}")
            else:
                assert not refused(response), (
                    f"{method} {url} as {persona} should be allowed, got "
                    f"{response.status_code} {response.headers.get('Location', '')}")


# Scoped API tokens ---------------------------------------------------------------------------

API_ROUTES = [n for n in SITE_ROUTES if ALL_ROUTES[n].is_api]
ROLE_GUARDED = (ANYONE, SIGNED_IN, VIEWER, OPERATOR, ADMIN)


def token_client(user, **scope) -> APIClient:
    _, raw = api_token_create(actor=SYSTEM, user=user, name="scoped", **scope)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api


def token_send(api: APIClient, method: str, url: str):
    return api.generic(method, url, "{}", content_type="application/json")


@pytest.mark.parametrize("name", API_ROUTES)
def test_a_read_token_of_an_admin_gets_exactly_what_a_viewer_gets(name, world):
    """The token's scope lowers its owner's role on every endpoint, through the same table."""
    route = ALL_ROUTES[name]
    url = url_for(route, world)
    api = token_client(world.admin, scope=TokenScope.READ)
    for method, minimum in ROUTES[name].items():
        if minimum not in ROLE_GUARDED:
            continue
        response = token_send(api, method, url)
        assert response.status_code < 500 or provider_error(response), (method, url)
        if minimum > VIEWER:
            assert refused(response), (method, url, response.status_code)
        else:
            assert not refused(response), (method, url, response.status_code)


@pytest.mark.parametrize("name", API_ROUTES)
def test_an_account_limited_token_cannot_touch_another_account(name, world, operator_user):
    """Limited to another account than the world's: every endpoint refuses it, or (the calls
    API) shows none of the world's calls and places none on its account."""
    route = ALL_ROUTES[name]
    url = url_for(route, world)
    api = token_client(operator_user, scope=TokenScope.OPERATE,
                       accounts=[world.accounts["kpn"]])
    scoped = getattr(route.view_class, "account_scoped", False)
    calls_before = Call.objects.count()
    for method, minimum in ROUTES[name].items():
        if minimum not in ROLE_GUARDED or minimum == ANYONE:
            continue
        if name == "api_calls" and method == "POST":
            response = api.post(url, {
                "application": world.application.pk, "from_number": "+31201234567",
                "to": {"type": "phone", "number": "+31612345678"},
                "flow": {"type": "ncco", "ncco": TALK}}, format="json")
        else:
            response = token_send(api, method, url)
        assert response.status_code < 500, (method, url)
        if name == "api_me" or (name in ("api_calls", "api_recordings") and method == "GET"):
            assert response.status_code == 200
            assert all(c["id"] != world.call.pk for c in response.json().get("results", []))
        elif name == "api_call_export":
            assert response.status_code == 200
            assert b"".join(response.streaming_content).decode().splitlines()[1:] == []
        elif name == "api_dashboard":  # the world's only call is on another account
            assert response.status_code == 200
            assert response.json()["total"] == response.json()["in_progress_total"] == 0
        elif scoped:
            # 400: the empty body was refused before the call was looked up (listen).
            assert response.status_code in (400, 403, 404), (method, url, response.status_code)
        else:
            assert response.status_code == 403, (method, url, response.status_code)
            if minimum <= OPERATOR:  # above the token's scope, the role is what it lacks
                assert "limited to some provider accounts" in response.json()["detail"]
    assert Call.objects.count() == calls_before
    assert not CallEvent.objects.filter(source="control").exists()  # no action was sent


@pytest.mark.parametrize("name", [n for n in API_ROUTES
                                  if getattr(ALL_ROUTES[n].view_class, "account_scoped", False)])
def test_a_token_limited_to_the_worlds_account_gets_what_its_owner_gets(name, world,
                                                                        operator_user):
    route = ALL_ROUTES[name]
    url = url_for(route, world)
    api = token_client(operator_user, scope=TokenScope.OPERATE, accounts=[world.account])
    for method, minimum in ROUTES[name].items():
        if minimum > OPERATOR:
            continue  # above the token's scope (an admin's delete): refused for that
        response = token_send(api, method, url)
        assert response.status_code < 500 or provider_error(response), (method, url)
        assert not refused(response), (method, url, response.status_code)


@pytest.mark.parametrize("name", OWNED)
def test_another_users_token_cannot_be_read_or_revoked_even_by_an_admin(name, world, clients,
                                                                        operator_user):
    token, _ = api_token_create(actor=SYSTEM, user=operator_user, name="mine")
    route = ALL_ROUTES[name]
    url = url_for(route, world, pk=token.pk)

    for persona in ("viewer", "admin"):
        for method in ROUTES[name]:
            response = send(persona, clients, route, method, url)
            assert response.status_code == 404, (persona, method, response.status_code)
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    revoke = next(method for method in ROUTES[name] if method != "GET")
    assert send("operator", clients, route, revoke, url).status_code in (200, 204, 302)
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


@pytest.mark.parametrize("name", ADMIN_ROUTES)
def test_the_django_admin_is_for_admins_only(name, world, clients):
    route = ALL_ROUTES[name]
    url = admin_url(route, world)
    for method, minimum in admin_site_entry(name).items():
        for rank, persona in enumerate(PERSONAS):
            response = send(persona, clients, route, method, url)
            assert response.status_code < 500, (method, url, persona)
            if rank < minimum:
                assert refused(response), (method, url, persona, response.status_code)
            else:
                assert not refused(response), (method, url, persona, response.status_code)


def test_a_new_route_without_an_entry_would_fail(monkeypatch):
    """The completeness check itself: a route nobody put in the table is named."""
    monkeypatch.setitem(ALL_ROUTES, "brand_new_page", Route("brand_new_page", "new/", None))
    monkeypatch.setattr(f"{__name__}.SITE_ROUTES", [*SITE_ROUTES, "brand_new_page"])

    with pytest.raises(AssertionError, match="brand_new_page"):
        test_every_route_is_in_the_table()


def test_personas_hold_the_roles_their_names_say(personas):
    assert [personas[p].role and personas[p].role.value for p in PERSONAS[1:]] == [
        None, "viewer", "operator", "admin"]
