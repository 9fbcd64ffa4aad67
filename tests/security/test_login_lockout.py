"""Failed sign-ins: five wrong passwords lock a username, twenty lock an address."""

import time

from django.core.management import call_command

from portal.models import AuditEntry
from tests.factories import PASSWORD, UserFactory

LOCKED = "Too many failed sign-ins"


def sign_in(client, username: str, password: str, ip: str = "198.51.100.7",
            url: str = "/login/"):
    return client.post(url, {"username": username, "password": password},
                       REMOTE_ADDR=ip)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_five_wrong_passwords_lock_the_username_even_for_the_right_password(
    client, operator_user
):
    for _ in range(4):
        response = sign_in(client, "operator", "wrong")
        assert LOCKED not in response.content.decode()

    fifth = sign_in(client, "operator", "wrong")
    sixth = sign_in(client, "operator", PASSWORD)

    page = fifth.content.decode()
    assert 'role="alert"' in page
    assert "Too many failed sign-ins for this username" in page
    assert "15 more minutes" in page
    assert LOCKED in sixth.content.decode()
    assert not signed_in(client)
    assert AuditEntry.objects.filter(action="login.failed").count() == 5
    locked = AuditEntry.objects.get(action="login.locked")
    assert locked.changes["username"] == "operator"
    assert locked.changes["scope"] == "username"
    assert locked.ip_address == "198.51.100.7"
    assert locked.actor_label == "anonymous"


def test_the_lock_ends_after_fifteen_minutes(client, operator_user, monkeypatch):
    for _ in range(5):
        sign_in(client, "operator", "wrong")
    later = time.time() + 15 * 60 + 1
    monkeypatch.setattr("portal.lockout.time.time", lambda: later)

    response = sign_in(client, "operator", PASSWORD)

    assert response.status_code == 302
    assert signed_in(client)


def test_a_lock_is_per_username_case_insensitively_and_does_not_touch_others(
    client, operator_user, viewer_user
):
    for _ in range(5):
        sign_in(client, "OPERATOR", "wrong")

    assert LOCKED in sign_in(client, "operator", PASSWORD).content.decode()
    response = sign_in(client, "viewer", PASSWORD)
    assert response.status_code == 302


def test_a_right_password_clears_the_usernames_failures(client, operator_user):
    for _ in range(4):
        sign_in(client, "operator", "wrong")
    assert sign_in(client, "operator", PASSWORD).status_code == 302
    client.logout()

    for _ in range(4):
        sign_in(client, "operator", "wrong")

    assert sign_in(client, "operator", PASSWORD).status_code == 302


def test_twenty_failures_from_one_address_lock_the_address_for_every_name(client, db):
    UserFactory(username="alice")
    for n in range(20):
        sign_in(client, f"sprayed{n}", "Winter2026!", ip="203.0.113.9")

    from_there = sign_in(client, "alice", PASSWORD, ip="203.0.113.9")
    from_elsewhere = sign_in(client, "alice", PASSWORD, ip="203.0.113.10")

    assert "Too many failed sign-ins for your network address" in from_there.content.decode()
    assert from_elsewhere.status_code == 302
    assert AuditEntry.objects.filter(action="login.locked",
                                     changes__scope="address").count() == 1


def test_the_forwarded_address_counts_behind_a_trusted_proxy(client, db, settings):
    settings.USE_X_FORWARDED_FOR = True
    for n in range(20):
        client.post("/login/", {"username": f"u{n}", "password": "x"},
                    REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.50, 10.0.0.1")

    another_client = client.post("/login/", {"username": "u0", "password": "x"},
                               REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.51")

    assert "your network address" not in another_client.content.decode()
    assert AuditEntry.objects.filter(action="login.locked",
                                     changes__scope="address").count() == 1


def test_the_django_admin_sign_in_is_locked_too(client, admin_user):
    for _ in range(5):
        sign_in(client, "admin", "wrong", url="/django-admin/login/")

    response = sign_in(client, "admin", PASSWORD, url="/django-admin/login/")

    assert LOCKED in response.content.decode()
    assert not signed_in(client)


def test_an_empty_password_is_not_counted(client, operator_user):
    for _ in range(6):
        sign_in(client, "operator", "")

    assert sign_in(client, "operator", PASSWORD).status_code == 302


def test_login_unlock_lifts_a_username_lock_early(client, operator_user):
    for _ in range(5):
        sign_in(client, "operator", "wrong")

    call_command("login_unlock", "--username=operator")

    assert sign_in(client, "operator", PASSWORD).status_code == 302
    assert AuditEntry.objects.get(action="login.unlock").changes == {"username": "operator"}


def test_login_unlock_lifts_an_address_lock_early(client, operator_user):
    for n in range(20):
        sign_in(client, f"sprayed{n}", "wrong")

    call_command("login_unlock", "--ip=198.51.100.7")

    assert sign_in(client, "operator", PASSWORD).status_code == 302
