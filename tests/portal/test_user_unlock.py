"""The Users page shows who is locked out and until when, a user's page whose reset links are
paused too; an admin lifts the lock and the pause (audited)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from portal.models import AuditEntry, SignInCounter
from portal.templatetags.formats import moment
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def fail_sign_ins(times: int) -> None:
    for _ in range(times):
        Client().post(reverse("login"), {"username": "operator", "password": "wrong-password!"})


def ask_for_reset_links(email: str, times: int) -> list[int]:
    return [Client().post(reverse("password_reset"), {"email": email}).status_code
            for _ in range(times)]


def test_unlocking_a_user_lets_them_ask_for_a_reset_link_again(
    client_for, admin_user, operator_user, settings, mailoutbox
):
    """A user who asked too often for reset links, then called an admin, was still refused."""
    settings.PASSWORD_RESETS_PER_EMAIL = 2
    assert ask_for_reset_links(operator_user.email, 3) == [302, 302, 200]

    page = client_for(admin_user).post(reverse("user_unlock", args=[operator_user.pk]),
                                       follow=True).content.decode()

    assert "operator can sign in and ask for a password reset link again." in page
    assert ask_for_reset_links(operator_user.email.upper(), 1) == [302]
    assert len(mailoutbox) == 3


def test_a_users_page_shows_their_reset_links_paused_and_offers_unlock(
    client_for, admin_user, operator_user, settings, mailoutbox
):
    """Only a sign-in lock showed there: an admin could not see the pause, nor lift it."""
    settings.PASSWORD_RESETS_PER_EMAIL = 2
    ask_for_reset_links(operator_user.email, 3)
    admin = client_for(admin_user)
    user_page, unlock = (reverse(name, args=[operator_user.pk])
                         for name in ("user_edit", "user_unlock"))
    until = SignInCounter.objects.get(subject__startswith="reset-email:").window_ends

    paused = admin.get(user_page).content.decode()

    assert f"Paused</span> until {moment(until)} after 2 requests" in paused
    assert unlock in paused and "Locked</span>" not in paused
    admin.post(unlock)
    lifted = admin.get(user_page).content.decode()
    assert "Not paused" in lifted and unlock not in lifted


def test_the_api_and_the_command_lift_the_reset_limit_too(
    api_for, admin_user, operator_user, settings, mailoutbox
):
    settings.PASSWORD_RESETS_PER_EMAIL = 1
    ask_for_reset_links(operator_user.email, 1)

    assert api_for(admin_user).post(f"/api/v1/users/{operator_user.pk}/unlock").status_code == 204
    assert ask_for_reset_links(operator_user.email, 2) == [302, 200]

    out = StringIO()
    call_command("login_unlock", "--username=Operator", stdout=out)
    assert out.getvalue() == ("Unlocked Operator: signing in and asking for password reset "
                              "links work again.\n")
    assert ask_for_reset_links(operator_user.email, 1) == [302]


def test_a_locked_user_is_shown_locked_and_an_admin_unlocks_them(
    client_for, admin_user, operator_user, settings
):
    settings.LOGIN_FAILURES_PER_USERNAME = 2
    fail_sign_ins(2)
    admin = client_for(admin_user)

    listing = admin.get(reverse("user_list")).content.decode()
    assert "Locked until" in listing
    assert (
        "Locked</span> until"
        in admin.get(reverse("user_edit", args=[operator_user.pk])).content.decode()
    )

    admin.post(reverse("user_unlock", args=[operator_user.pk]))

    assert "Locked until" not in admin.get(reverse("user_list")).content.decode()
    assert AuditEntry.objects.get(action="login.unlock").changes == {"username": "operator"}
    again = Client().post(reverse("login"), {"username": "operator", "password": PASSWORD})
    assert again.status_code == 302


def test_an_admin_reads_who_is_locked_and_unlocks_them_through_the_api(
    api_for, admin_user, operator_user, settings
):
    settings.LOGIN_FAILURES_PER_USERNAME = 2
    fail_sign_ins(2)
    api = api_for(admin_user)

    def locked_until() -> dict[str, str | None]:
        """Each user's `locked_until` as the list and each user's own read give it."""
        listed = {u["username"]: u["locked_until"] for u in api.get("/api/v1/users").json()[
            "results"]}
        for user in (admin_user, operator_user):
            assert api.get(f"/api/v1/users/{user.pk}").json()["locked_until"] == listed[
                user.username]
        return listed

    locks = locked_until()
    assert locks["admin"] is None
    assert parse_datetime(locks["operator"]) > timezone.now()  # what the Users page shows

    response = api.post(f"/api/v1/users/{operator_user.pk}/unlock")

    assert response.status_code == 204
    assert locked_until() == {"admin": None, "operator": None}
    entry = AuditEntry.objects.get(action="login.unlock")
    assert entry.changes == {"username": "operator"} and entry.via == "API token"
    again = Client().post(reverse("login"), {"username": "operator", "password": PASSWORD})
    assert again.status_code == 302


def test_only_admins_unlock_through_the_api(api_for, personas, settings):
    settings.LOGIN_FAILURES_PER_USERNAME = 2
    fail_sign_ins(2)
    url = f"/api/v1/users/{personas['operator'].pk}/unlock"
    for persona in ("operator", "viewer", "outsider"):
        assert api_for(personas[persona]).post(url).status_code == 403
    assert api_for(personas["admin"]).post(url, {"now": True}, format="json").json()[
        "fields"] == {"now": ["Unknown field."]}
    assert not AuditEntry.objects.filter(action="login.unlock").exists()


def test_unlocking_an_address_lifts_its_reset_limit(settings, operator_user):
    settings.PASSWORD_RESETS_PER_IP = 1
    assert ask_for_reset_links("someone@example.com", 2) == [302, 200]  # the client 127.0.0.1

    call_command("login_unlock", "--ip=127.0.0.1", stdout=StringIO())

    assert ask_for_reset_links(operator_user.email, 1) == [302]
