"""Failed sign-ins: five wrong passwords lock a username, twenty lock an address."""

import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from django.core.management import call_command
from django.db import DatabaseError
from django.test import Client
from django.utils import timezone

from portal import tasks
from portal.models import AuditEntry, SignInCounter
from tests.factories import PASSWORD, UserFactory
from tests.helpers import migrated_back_to

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
    assert locked.object_id == str(operator_user.pk)
    assert locked.changes["scope"] == "username"
    assert locked.ip_address == "198.51.100.7"
    assert locked.actor_label == "anonymous"


def test_the_lock_ends_after_fifteen_minutes(client, operator_user, monkeypatch):
    for _ in range(5):
        sign_in(client, "operator", "wrong")
    later = timezone.now() + timedelta(minutes=15, seconds=1)
    monkeypatch.setattr("portal.lockout.timezone.now", lambda: later)

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
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(20):
        client.post("/login/", {"username": f"u{n}", "password": "x"},
                    REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.50")

    another_client = client.post("/login/", {"username": "u0", "password": "x"},
                                 REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.51")

    assert "your network address" not in another_client.content.decode()
    locked = AuditEntry.objects.get(action="login.locked", changes__scope="address")
    assert locked.ip_address == "203.0.113.50"


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


def test_a_failure_is_counted_even_when_auditing_it_fails(client, operator_user, monkeypatch):
    def audit_down(**kwargs):
        raise DatabaseError("the audit log cannot be written")

    monkeypatch.setattr("portal.lockout.audit_record", audit_down)
    for _ in range(5):
        with pytest.raises(DatabaseError):
            sign_in(client, "operator", "wrong")

    monkeypatch.undo()
    response = sign_in(client, "operator", PASSWORD)

    assert LOCKED in response.content.decode()
    assert not signed_in(client)


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_passwords_check_no_more_than_the_limit(live_server):
    """Sixty wrong passwords at once, against a real threaded server: five are checked."""
    UserFactory(username="target")
    session = requests.Session()
    form = session.get(f"{live_server.url}/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    start = threading.Barrier(20)

    def attempt(password: str) -> str:
        return requests.post(
            f"{live_server.url}/login/",
            data={"username": "target", "password": password, "csrfmiddlewaretoken": token},
            cookies=session.cookies, headers={"Referer": f"{live_server.url}/login/"},
            allow_redirects=False, timeout=60,
        ).text

    def wrong_at_once(n: int) -> str:
        start.wait()
        return attempt(f"wrong-{n}")

    with ThreadPoolExecutor(max_workers=20) as pool:
        pages = list(pool.map(wrong_at_once, range(60)))

    assert AuditEntry.objects.filter(action="login.failed").count() == 5
    # 55 refused unchecked, and the fifth failure's page announces the lock.
    assert sum(LOCKED in page for page in pages) == 56
    assert LOCKED in attempt(PASSWORD)


def test_an_hourly_task_deletes_the_counters_whose_window_and_lock_have_ended(
    client, operator_user, monkeypatch, settings
):
    for _ in range(5):
        sign_in(client, "operator", "wrong")  # locks the name for 15 minutes
    for name in ("ada", "grace"):
        sign_in(client, name, "wrong", ip="203.0.113.9")
    sixteen_minutes_on = timezone.now() + timedelta(minutes=16)
    monkeypatch.setattr("portal.lockout.timezone.now", lambda: sixteen_minutes_on)
    sign_in(client, "ada", "wrong", ip="203.0.113.9")  # a new window for ada and the address

    tasks.sign_in_counters_forget_expired()

    left = SignInCounter.objects.values_list("subject", flat=True)
    assert sorted(subject.split(":")[0] for subject in left) == ["address", "username"]
    assert settings.CELERY_BEAT_SCHEDULE["portal-sign-in-counters"]["task"] == (
        tasks.sign_in_counters_forget_expired.name)


def test_a_wrong_password_for_a_user_is_audited_with_that_user(client, operator_user):
    sign_in(client, "Operator", "wrong")

    failed = AuditEntry.objects.get(action="login.failed")
    assert (failed.object_type, failed.object_id, failed.object_repr) == (
        "portal.user", str(operator_user.pk), "operator")
    assert failed.changes == {"username": "operator"}
    assert failed.actor_label == "anonymous"


def test_a_password_typed_as_the_username_is_kept_neither_in_the_audit_log_nor_in_logs(
    client, operator_user, caplog
):
    caplog.set_level(logging.DEBUG)
    typed = "Correct-Horse-9"

    for _ in range(5):
        sign_in(client, typed, "operator")

    entries = AuditEntry.objects.filter(action__in=["login.failed", "login.locked"])
    assert entries.count() == 6
    for entry in entries:
        assert typed.lower() not in repr(entry.__dict__).lower()
        assert re.fullmatch(r"c•••• \(15 characters, [0-9a-f]{8}\)", entry.changes["username"])
        assert entry.object_id == ""
    assert typed.lower() not in caplog.text.lower()


def test_attempts_with_the_same_unknown_name_carry_the_same_mask_and_lock_it(client, db):
    for name in ("ghost@example.org", "GHOST@example.org", "ghost@example.com"):
        sign_in(client, name, "wrong")
    for _ in range(3):
        sign_in(client, "ghost@example.org", "wrong")

    first, same, other = (entry.changes["username"] for entry in AuditEntry.objects.filter(
        action="login.failed").order_by("pk")[:3])
    assert first == same != other
    locked = AuditEntry.objects.get(action="login.locked")
    assert (locked.changes["scope"], locked.changes["username"]) == ("username", first)
    assert LOCKED in sign_in(client, "ghost@example.org", "wrong").content.decode()


# The last portal migration before the one that masks old failed sign-ins' unknown names.
BEFORE_MASKING = ("portal", "0012_reset_requests_audited_with_the_address_masked")


@pytest.mark.django_db(transaction=True)  # SQLite changes a schema only outside a transaction
def test_failed_sign_ins_audited_before_masking_get_unknown_names_masked_by_a_migration():
    """Entries written before kept every name typed whole: migrating masks the names no user
    has, in batches, as a sign-in now would, and leaves users' names and other entries."""
    UserFactory(username="operator")
    with migrated_back_to(BEFORE_MASKING) as old_apps:
        old_entry = old_apps.get_model("portal", "AuditEntry")
        # More than the migration's batch of 1,000.
        old_entry.objects.bulk_create(
            old_entry(action="login.failed", changes={"username": "Hunter2-secret"})
            for _ in range(1001))
        locked = old_entry.objects.create(action="login.locked", changes={
            "username": "hunter2-secret", "scope": "username", "failures": 5, "minutes": 15})
        kept = [
            old_entry.objects.create(action="login.failed", changes={"username": "Operator"}),
            old_entry.objects.create(action="login.failed", changes={
                "username": "x•••• (3 characters, 0123abcd)"}),
            old_entry.objects.create(action="login.unlock", changes={"username": "someone"}),
        ]
        kept_changes = {entry.pk: entry.changes for entry in kept}

    sign_in(Client(), "hunter2-secret", "wrong")
    now_masked = AuditEntry.objects.filter(action="login.failed").latest("pk").changes
    masked = AuditEntry.objects.exclude(pk__in=kept_changes).filter(
        action="login.failed").exclude(pk=AuditEntry.objects.latest("pk").pk)
    assert masked.count() == 1001
    assert {entry.changes["username"] for entry in masked} == {now_masked["username"]}
    assert AuditEntry.objects.get(pk=locked.pk).changes == {
        "username": now_masked["username"], "scope": "username", "failures": 5, "minutes": 15}
    assert {entry.pk: entry.changes for entry in AuditEntry.objects.filter(
        pk__in=kept_changes)} == kept_changes
