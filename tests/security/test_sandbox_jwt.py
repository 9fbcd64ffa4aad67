"""The sandbox takes an application JWT as Vonage does (vonage.md 3): exp is optional, and a
token without one expires 15 minutes after its iat, so a leaked one does not work forever."""

import time

import pytest

from tests.sandbox.conftest import (  # noqa: F401
    app_jwt,
    call_body,
    player,
    sandbox_account,
    sandbox_app,
)
from voiceapps.sandbox.models import SandboxCall

CALLS = "/sandbox/v1/calls"
EXPIRED = "https://developer.vonage.com/api-errors#jwt-expired"


def place(client, token: str):
    return client.post(CALLS, call_body(), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.parametrize(("age", "accepted"), [
    (0, True),
    (14 * 60, True),
    (16 * 60, False),  # past iat + 900 s and the 30 s of clock difference forgiven
    (30 * 24 * 3600, False),  # a month-old token found in a log
])
def test_a_jwt_without_exp_lasts_fifteen_minutes_from_its_iat(client, sandbox_app, player,  # noqa: F811
                                                              age, accepted):
    response = place(client, app_jwt(iat=int(time.time()) - age, exp=None))

    if accepted:
        assert response.status_code == 201
    else:
        assert response.status_code == 401
        assert response.json()["type"] == EXPIRED
        assert "15 minutes" in response.json()["detail"]
        assert not SandboxCall.objects.exists() and player.scheduled() == []


def test_iat_and_exp_written_as_strings_of_digits_are_read_as_numbers(
    client, sandbox_app, player  # noqa: F811
):
    now = int(time.time())
    fresh = app_jwt(iat=str(now), exp=str(now + 900))
    stale = app_jwt(iat=str(now - 3600), exp=None)

    assert place(client, fresh).status_code == 201
    assert place(client, stale).json()["type"] == EXPIRED
