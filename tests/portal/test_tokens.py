"""Personal API tokens: shown once, stored hashed, carry the owner's role, revocable."""

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse

from portal.models import ApiToken
from portal.services import SYSTEM, api_token_create


def in_days(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.django_db
def test_token_created_on_the_profile_page_is_shown_once_and_stored_hashed(client_for, viewer_user):
    client = client_for(viewer_user)
    response = client.post(reverse("profile"), {"name": "CRM dialer", "scope": "read",
                                                 "expires_on": in_days(30)})
    page = response.content.decode()
    token = ApiToken.objects.get(user=viewer_user)
    raw = page.split('id="new-token">')[1].split("<")[0]
    assert raw.startswith(f"cb_{token.prefix}_")
    assert "It will not be shown again" in page
    assert "no-store" in response["Cache-Control"]  # no browser cache keeps the token
    assert raw not in {token.key_hash, token.prefix, token.name}
    later = client.get(reverse("profile")).content.decode()
    assert "CRM dialer" in later and raw not in later


@pytest.mark.django_db
def test_the_token_form_sent_twice_makes_one_token(client_for, viewer_user):
    """A reload of the page that showed the token resent its form: a second token, unasked."""
    client = client_for(viewer_user)
    form = client.get(reverse("profile")).content.decode()
    sent_once = re.search(r'name="sent_once" value="([0-9a-f]+)"', form).group(1)
    values = {"name": "CRM dialer", "scope": "read", "expires_on": in_days(30),
              "sent_once": sent_once}
    assert client.post(reverse("profile"), values).status_code == 200

    again = client.post(reverse("profile"), values, follow=True)

    assert ApiToken.objects.filter(user=viewer_user).count() == 1
    assert again.redirect_chain == [(reverse("profile"), 302)]
    assert "This form was sent already" in again.content.decode()
    assert 'id="new-token"' not in again.content.decode()


@pytest.mark.django_db
def test_token_authenticates_as_its_owner_with_their_role(client, operator_user):
    _, raw = api_token_create(actor=SYSTEM, user=operator_user, name="t")
    body = client.get(reverse("api_me"), **bearer(raw)).json()
    assert body["username"] == "operator" and body["role"] == "operator"
    assert ApiToken.objects.get().last_used_at is not None


@pytest.mark.django_db
def test_revoked_token_is_refused(client_for, client, viewer_user):
    token, raw = api_token_create(actor=SYSTEM, user=viewer_user, name="old")
    page = client_for(viewer_user)
    response = page.post(reverse("token_revoke", args=[token.pk]))
    assert response.status_code == 302
    page.logout()
    refused = client.get(reverse("api_me"), **bearer(raw))
    assert refused.status_code == 401
    assert refused.json() == {
        "error": "authentication_failed",
        "detail": "The API token is invalid or was revoked.",
        "fields": {},
    }


@pytest.mark.django_db
def test_deactivated_users_tokens_stop_working(client, viewer_user):
    _, raw = api_token_create(actor=SYSTEM, user=viewer_user, name="t")
    viewer_user.is_active = False
    viewer_user.save()
    assert client.get(reverse("api_me"), **bearer(raw)).status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer cb_000000000000_" + "x" * 43,
                                    "Token cb_", "Bearer "])
def test_malformed_or_unknown_tokens_get_401(client, header, viewer_user):
    response = client.get(reverse("api_me"), HTTP_AUTHORIZATION=header)
    assert response.status_code == 401


@pytest.mark.django_db
def test_someone_else_cannot_revoke_my_token(client_for, viewer_user, operator_user):
    token, _ = api_token_create(actor=SYSTEM, user=viewer_user, name="mine")
    response = client_for(operator_user).post(reverse("token_revoke", args=[token.pk]))
    assert response.status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


@pytest.mark.django_db
def test_tokens_api_create_list_revoke(api_for, viewer_user):
    api = api_for(viewer_user)
    created = api.post(reverse("api_tokens"), {"name": "script"}, format="json")
    assert created.status_code == 201
    assert "no-store" in created["Cache-Control"]
    raw = created.json()["token"]
    listed = api.get(reverse("api_tokens")).json()["results"]
    assert {t["name"] for t in listed} == {"tests", "script"}
    assert all("token" not in t for t in listed)
    new_id = created.json()["id"]
    assert api.delete(reverse("api_token", args=[new_id])).status_code == 204
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get(reverse("api_me")).status_code == 401


@pytest.mark.django_db
def test_token_without_a_name_is_refused_with_the_reason(api_for, viewer_user):
    response = api_for(viewer_user).post(reverse("api_tokens"), {"name": " "}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["fields"]
