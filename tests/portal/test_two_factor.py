"""Two-factor sign-in with an authenticator app (TOTP) and recovery codes.

Codes are computed here from the device's key as a phone would (django_otp.oath.totp), so the
library's own verification runs unchanged.
"""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.models import AuditEntry, SecurityPolicy
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def code_for(user, steps_ahead: int = 0) -> str:
    """The code the phone shows now (or `steps_ahead` periods later: a code is good once)."""
    device = TOTPDevice.objects.get(user=user)
    code = totp(device.bin_key, step=device.step, digits=device.digits, drift=steps_ahead)
    return f"{code:06d}"


def sign_in(username: str = "operator") -> Client:
    client = Client(REMOTE_ADDR="192.0.2.7")
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


def enrol(client: Client, user) -> list[str]:
    client.get(reverse("two_factor_setup"))
    response = client.post(
        reverse("two_factor_setup"), {"action": "confirm", "code": code_for(user)}
    )
    page = response.content.decode()
    return re.search(r'<pre id="recovery-codes">(.*?)</pre>', page, re.S).group(1).split()


def test_enrolling_shows_a_qr_code_image_and_recovery_codes_once(operator_user):
    client = sign_in()
    setup = client.get(reverse("two_factor_setup"))
    page = setup.content.decode()
    assert f'<img src="{reverse("two_factor_qr")}"' in page
    qr = client.get(reverse("two_factor_qr"))
    assert qr["Content-Type"] == "image/svg+xml" and b"<svg" in qr.content
    # The page spells the secret out and the image encodes it: no browser cache keeps either.
    assert "no-store" in setup["Cache-Control"] and "no-store" in qr["Cache-Control"]
    assert b"<script" not in qr.content

    codes = enrol(client, operator_user)

    assert len(codes) == 10
    assert TOTPDevice.objects.get(user=operator_user).confirmed
    later = client.get(reverse("two_factor_setup")).content.decode()
    assert codes[0] not in later and "Signing in asks for a code" in later
    assert AuditEntry.objects.filter(action="user.2fa_enrol").exists()


def test_the_profile_says_whether_two_factor_is_on(operator_user):
    """Its button read "Two-factor sign-in" either way: nobody could tell without opening it."""
    client = sign_in()
    assert "Set up two-factor sign-in" in client.get(reverse("profile")).content.decode()
    setup = client.get(reverse("two_factor_setup")).content.decode()
    assert "or one of your recovery codes" not in setup  # none exists before the first code
    enrol(client, operator_user)
    profile = client.get(reverse("profile")).content.decode()
    assert "Two-factor sign-in: on" in profile and "Set up two-factor" not in profile


def test_new_recovery_codes_ask_first_and_the_page_counts_those_left(operator_user):
    """New codes end the old ones at once: one press, unasked, could strand a user whose
    codes were printed; the page now also says how many are left."""
    client = sign_in()
    codes = enrol(client, operator_user)
    again = sign_in()
    again.post(reverse("two_factor_verify"), {"code": codes[0]})
    page = again.get(reverse("two_factor_setup")).content.decode()
    assert "9 recovery codes left" in page
    assert 'data-confirm="Make new recovery codes? The ones you have stop working' in page


def test_a_wrong_first_code_does_not_turn_it_on(operator_user):
    client = sign_in()
    client.get(reverse("two_factor_setup"))
    response = client.post(reverse("two_factor_setup"), {"action": "confirm", "code": "000000"})
    assert "That code is not right" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=operator_user, confirmed=True).exists()


def test_after_the_password_no_page_opens_without_the_code(operator_user):
    enrol(sign_in(), operator_user)
    client = sign_in()

    for path in (reverse("dashboard"), reverse("profile"), "/django-admin/"):
        response = client.get(path)
        assert response.status_code == 302 and response.url.startswith(
            reverse("two_factor_verify")
        ), path
    assert client.get("/api/v1/me").status_code == 403

    wrong = client.post(reverse("two_factor_verify"), {"code": "123456", "next": "/calls/"})
    assert "That code is not right" in wrong.content.decode()
    right = client.post(
        reverse("two_factor_verify"),
        {"code": code_for(operator_user, steps_ahead=1), "next": "/calls/"},
    )
    assert right.url == "/calls/"
    assert client.get(reverse("dashboard")).status_code == 200


def test_a_way_back_that_is_not_a_path_here_lands_on_the_dashboard(operator_user):
    client = sign_in()
    enrol(client, operator_user)
    client = sign_in()
    right = client.post(reverse("two_factor_verify"),
                        {"code": code_for(operator_user, steps_ahead=1), "next": "abc"})
    assert right.status_code == 302 and right.url == "/"


def test_a_recovery_code_signs_in_once(operator_user):
    codes = enrol(sign_in(), operator_user)
    first = sign_in()
    assert first.post(reverse("two_factor_verify"), {"code": codes[0]}).status_code == 302
    assert first.get(reverse("dashboard")).status_code == 200

    second = sign_in()
    again = second.post(reverse("two_factor_verify"), {"code": codes[0]})
    assert "That code is not right" in again.content.decode()


def test_wrong_codes_lock_the_username_even_when_the_password_is_typed_again(
    operator_user, settings
):
    settings.LOGIN_FAILURES_PER_USERNAME = 3
    enrol(sign_in(), operator_user)
    for _ in range(3):  # each time the right password, then a wrong code
        sign_in().post(reverse("two_factor_verify"), {"code": "000000"})

    client = Client(REMOTE_ADDR="192.0.2.7")
    refused = client.post(reverse("login"), {"username": "operator", "password": PASSWORD})
    assert "Too many failed sign-ins for this username" in refused.content.decode()
    assert AuditEntry.objects.filter(action="login.locked").exists()


def test_a_role_that_requires_it_cannot_reach_any_page_before_setting_it_up(operator_user):
    SecurityPolicy.objects.create(pk=1, two_factor_operator=True)
    client = sign_in()

    response = client.get(reverse("call_list"))
    assert response.status_code == 302 and response.url.startswith(reverse("two_factor_setup"))
    page = client.get(reverse("two_factor_setup")).content.decode()
    assert "Your role requires two-factor sign-in" in page

    enrol(client, operator_user)
    assert client.get(reverse("call_list")).status_code == 200


def test_the_policy_applies_only_to_the_roles_ticked(viewer_user):
    SecurityPolicy.objects.create(pk=1, two_factor_operator=True)
    assert sign_in("viewer").get(reverse("dashboard")).status_code == 200


def test_an_admin_sets_the_policy_on_the_settings_page(client_for, admin_user):
    client = client_for(admin_user)
    assert (
        "require two-factor sign-in for operators"
        in client.get(reverse("settings")).content.decode().lower()
    )
    client.post(reverse("security_policy"), {"two_factor_operator": "on"})

    assert SecurityPolicy.load().two_factor_operator
    entry = AuditEntry.objects.get(action="security_policy.update")
    assert entry.changes == {"two_factor_operator": [False, True]}


def test_an_admin_resets_a_users_two_factor_and_it_is_audited(
    client_for, admin_user, operator_user
):
    enrol(sign_in(), operator_user)
    admin = client_for(admin_user)
    assert (
        "Reset two-factor"
        in admin.get(reverse("user_edit", args=[operator_user.pk])).content.decode()
    )

    admin.post(reverse("user_two_factor_reset", args=[operator_user.pk]))

    assert not TOTPDevice.objects.filter(user=operator_user).exists()
    entry = AuditEntry.objects.get(action="user.2fa_reset")
    assert entry.actor == admin_user and entry.object_id == str(operator_user.pk)
    assert sign_in().get(reverse("dashboard")).status_code == 200  # no code asked any more


def test_an_admin_resets_a_users_two_factor_through_the_api(api_for, personas, operator_user):
    enrol(sign_in(), operator_user)
    url = f"/api/v1/users/{operator_user.pk}/two-factor/reset"
    for persona in ("operator", "viewer"):
        assert api_for(personas[persona]).post(url).status_code == 403
    assert TOTPDevice.objects.filter(user=operator_user).exists()

    admin_api = api_for(personas["admin"])
    assert admin_api.get(f"/api/v1/users/{operator_user.pk}").json()["two_factor"] is True

    assert admin_api.post(url).status_code == 204

    assert not TOTPDevice.objects.filter(user=operator_user).exists()
    assert AuditEntry.objects.get(action="user.2fa_reset").via == "API token"
    assert admin_api.get(f"/api/v1/users/{operator_user.pk}").json()["two_factor"] is False
    assert sign_in().get(reverse("dashboard")).status_code == 200  # no code asked any more


def test_an_unverified_session_cannot_turn_two_factor_off(operator_user):
    enrol(sign_in(), operator_user)
    client = sign_in()
    response = client.post(reverse("two_factor_setup"), {"action": "remove"})
    assert response.url == reverse("two_factor_verify")
    assert TOTPDevice.objects.filter(user=operator_user, confirmed=True).exists()
