"""A session ends when its user is deactivated, however it was signed in: by single sign-on
too, whose backend finds a session's user again on every request."""

import pytest
from django.test import Client
from django.urls import reverse

from portal.models import User
from portal.services import SYSTEM, user_update
from tests.fakes.oidc_provider import oidc_provider_fixture  # noqa: F401
from tests.portal.test_oidc import sso_sign_in

pytestmark = pytest.mark.django_db


def test_deactivating_a_user_signed_in_by_single_sign_on_ends_their_session(
        oidc_provider, settings):
    settings.OIDC_ROLE_MAP = {"cb-ops": "operator"}
    oidc_provider.user = {"sub": "idp-9", "email": "dee@example.com", "groups": ["cb-ops"]}
    client = Client()
    sso_sign_in(client)
    assert client.get(reverse("profile")).status_code == 200

    user_update(actor=SYSTEM, user=User.objects.get(oidc_subject="idp-9"), is_active=False)

    for page in ("profile", "dashboard"):
        response = client.get(reverse(page))
        assert response.status_code == 302 and response.url.startswith(reverse("login")), page

