"""API tokens carry a scope no higher than their owner's role, may be limited to some accounts,
and expire (90 days by default), warned about a week before; last use and address shown."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from calls.models import Call
from portal.models import ApiToken, AuditEntry, TokenScope
from portal.services import SYSTEM, Actor, api_token_create
from tests.factories import ApplicationFactory, CallFactory, NumberFactory

pytestmark = pytest.mark.django_db


def client_with(raw: str, ip: str = "127.0.0.1") -> APIClient:
    api = APIClient(REMOTE_ADDR=ip)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api


def call_body(application) -> dict:
    number = NumberFactory(application=application)
    return {
        "application": application.pk,
        "from_number": number.e164,
        "to": {"type": "phone", "number": "+31612345678"},
        "flow": {"type": "ncco", "ncco": [{"action": "talk", "text": "Hello"}]},
    }


def test_a_read_token_of_an_admin_cannot_place_a_call(admin_user):
    _, raw = api_token_create(
        actor=SYSTEM, user=admin_user, name="dashboards", scope=TokenScope.READ
    )
    api = client_with(raw)
    application = ApplicationFactory()

    assert api.get("/api/v1/calls").status_code == 200
    refused = api.post("/api/v1/calls", call_body(application), format="json")

    assert refused.status_code == 403
    assert "This API token has the Read scope" in refused.json()["detail"]
    assert not Call.objects.exists()
    assert api.get(reverse("api_me")).json()["role"] == "viewer"


def test_an_operate_token_places_a_call(admin_user):
    _, raw = api_token_create(
        actor=SYSTEM, user=admin_user, name="dialer", scope=TokenScope.OPERATE
    )
    response = client_with(raw).post(
        "/api/v1/calls", call_body(ApplicationFactory()), format="json"
    )
    assert response.status_code == 202, response.json()
    # and no more than operate: admin pages of the API stay shut
    assert client_with(raw).get(reverse("api_users")).status_code == 403


def test_a_token_cannot_have_more_than_its_owners_role(operator_user):
    api = APIClient()
    api.force_login(operator_user)
    response = api.post(reverse("api_tokens"), {"name": "x", "scope": "admin"}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["scope"] == [
        "A Operator can give a token at most the Operate scope."
    ]


def test_a_narrow_token_cannot_mint_a_broader_one(admin_user):
    _, raw = api_token_create(actor=SYSTEM, user=admin_user, name="narrow", scope=TokenScope.READ)
    response = client_with(raw).post(
        reverse("api_tokens"), {"name": "wide", "scope": "admin"}, format="json"
    )
    assert response.status_code == 400
    assert "scope" in response.json()["fields"]
    made = client_with(raw).post(reverse("api_tokens"), {"name": "same"}, format="json")
    assert made.status_code == 201 and made.json()["scope"] == "read"


def test_the_profile_page_offers_only_scopes_up_to_the_role_and_creates_a_scoped_token(
    client_for, operator_user
):
    client = client_for(operator_user)
    page = client.get(reverse("profile")).content.decode()
    assert 'value="operate"' in page and 'value="admin"' not in page

    expires = date.today() + timedelta(days=30)
    response = client.post(
        reverse("profile"), {"name": "CRM", "scope": "read", "expires_on": expires.isoformat()}
    )

    assert "Copy your new token now" in response.content.decode()
    token = ApiToken.objects.get(name="CRM")
    assert (token.scope, token.expires_at.date(), token.limit_to_accounts) == (
        "read",
        expires,
        False,
    )


def test_an_expiry_beyond_the_maximum_is_refused_on_the_field(client_for, operator_user):
    response = client_for(operator_user).post(
        reverse("profile"),
        {
            "name": "CRM",
            "scope": "read",
            "expires_on": (date.today() + timedelta(days=400)).isoformat(),
        },
    )
    assert "at most 365 days away" in response.content.decode()
    assert not ApiToken.objects.filter(name="CRM").exists()


def test_tokens_expire_after_90_days_by_default(viewer_user):
    token, _ = api_token_create(actor=SYSTEM, user=viewer_user, name="t")
    assert token.expires_at.date() == (timezone.now() + timedelta(days=90)).date()


def test_an_expired_token_gets_401_saying_it_expired(viewer_user):
    token, raw = api_token_create(actor=SYSTEM, user=viewer_user, name="nightly export")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(hours=1))

    response = client_with(raw).get(reverse("api_me"))

    assert response.status_code == 401
    detail = response.json()["detail"]
    assert detail.startswith("The API token “nightly export” expired on ")
    assert "Create a new one on your profile page" in detail


def test_responses_say_when_the_token_expires_and_warn_in_its_last_week(viewer_user):
    token, raw = api_token_create(actor=SYSTEM, user=viewer_user, name="t")
    calm = client_with(raw).get(reverse("api_me"))
    assert calm["Callboard-Token-Expires"] == token.expires_at.isoformat()
    assert "Warning" not in calm

    soon = timezone.now() + timedelta(days=5)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=soon)
    warned = client_with(raw).get(reverse("api_me"))
    assert warned["Warning"].startswith(
        f'299 callboard "This API token expires on {soon:%Y-%m-%d} UTC'
    )


def test_the_profile_page_warns_about_a_token_expiring_within_a_week(client_for, viewer_user):
    token, _ = api_token_create(actor=SYSTEM, user=viewer_user, name="CRM dialer")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + timedelta(days=3))
    page = client_for(viewer_user).get(reverse("profile")).content.decode()
    assert "Token “CRM dialer” expires on" in page


def test_last_use_and_its_address_are_shown(client_for, viewer_user):
    _, raw = api_token_create(actor=SYSTEM, user=viewer_user, name="t")
    client_with(raw, ip="192.0.2.44").get(reverse("api_me"))

    page = client_for(viewer_user).get(reverse("profile")).content.decode()
    assert "from 192.0.2.44" in page
    listed = client_with(raw, ip="192.0.2.44").get(reverse("api_tokens")).json()["results"]
    assert listed[0]["last_used_ip"] == "192.0.2.44"


# Account-limited tokens ---------------------------------------------------------------------


@pytest.fixture
def two_accounts():
    mine, theirs = ApplicationFactory(), ApplicationFactory()
    return mine, theirs


def limited_token(user, application) -> str:
    _, raw = api_token_create(
        actor=SYSTEM,
        user=user,
        name="limited",
        scope=TokenScope.OPERATE,
        accounts=[application.account],
    )
    return raw


def test_an_account_limited_token_sees_and_places_only_its_accounts_calls(
    operator_user, two_accounts
):
    mine, theirs = two_accounts
    own_call, other_call = CallFactory(application=mine), CallFactory(application=theirs)
    api = client_with(limited_token(operator_user, mine))

    listed = api.get("/api/v1/calls").json()["results"]
    assert [c["id"] for c in listed] == [own_call.pk]
    assert api.get(f"/api/v1/calls/{other_call.pk}").status_code == 404
    assert api.get(f"/api/v1/calls/{other_call.pk}/events").status_code == 404
    assert api.post(f"/api/v1/calls/{other_call.pk}/hangup").status_code == 404
    refused = api.post("/api/v1/calls", call_body(theirs), format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "This API token is limited to other provider accounts than this one."
    )
    assert api.post("/api/v1/calls", call_body(mine), format="json").status_code == 202


def test_an_account_limited_token_cannot_use_endpoints_that_are_not_limited_to_accounts(
    operator_user, two_accounts
):
    api = client_with(limited_token(operator_user, two_accounts[0]))

    for path in (
        "/api/v1/accounts",
        "/api/v1/applications",
        "/api/v1/numbers",
        "/api/v1/nccos",
        "/api/v1/tokens",
    ):
        response = api.get(path)
        assert response.status_code == 403, path
        assert "limited to some provider accounts" in response.json()["detail"]
    assert api.get(reverse("api_me")).status_code == 200


def test_token_creation_is_audited_with_its_scope(operator_user, two_accounts):
    account = two_accounts[0].account
    api_token_create(
        actor=Actor(user=operator_user),
        user=operator_user,
        name="t",
        scope=TokenScope.READ,
        accounts=[account],
    )
    entry = AuditEntry.objects.get(action="api_token.create")
    assert entry.changes["scope"] == "read" and entry.changes["accounts"] == [account.pk]
