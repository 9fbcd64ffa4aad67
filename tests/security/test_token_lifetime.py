"""A token makes no token that outlives it: a leaked token about to expire (or to be found
and revoked) cannot leave a long-lived one behind."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from portal.models import ApiToken
from portal.services import SYSTEM, api_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def short_lived(operator_user) -> tuple[ApiToken, APIClient]:
    token, raw = api_token_create(actor=SYSTEM, user=operator_user, name="leaked",
                                  expires_at=timezone.now() + timedelta(days=2))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return token, api


def test_a_token_made_by_a_token_expires_with_it_by_default(short_lived):
    creator, api = short_lived

    made = api.post(reverse("api_tokens"), {"name": "child"}, format="json")

    assert made.status_code == 201
    assert ApiToken.objects.get(pk=made.json()["id"]).expires_at <= creator.expires_at


def test_a_token_cannot_make_one_expiring_after_it(short_lived):
    creator, api = short_lived
    later = (creator.expires_at + timedelta(days=30)).isoformat()

    refused = api.post(reverse("api_tokens"), {"name": "child", "expires_at": later},
                       format="json")

    assert refused.status_code == 400
    assert "expires_at" in refused.json()["fields"]
    assert ApiToken.objects.count() == 1
