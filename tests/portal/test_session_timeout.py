"""An idle session ends after SESSION_IDLE_TIMEOUT_SECONDS (30 minutes); use keeps it alive."""


import pytest
from django.urls import reverse

from tests.factories import PASSWORD


def sign_in(client) -> None:
    response = client.post(reverse("login"), {"username": "operator", "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.django_db
def test_a_session_idle_for_thirty_minutes_must_sign_in_again(client, operator_user, clock):
    sign_in(client)

    clock(31)
    response = client.get(reverse("dashboard"))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.django_db
def test_a_session_in_use_stays_signed_in(client, operator_user, clock):
    sign_in(client)

    for _ in range(4):
        clock(25)
        assert client.get(reverse("dashboard")).status_code == 200
