"""Sessions: an absolute lifetime however busy, a list with address and last use, and
"sign out everywhere" ending every session in the session store itself."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.models import AuditEntry, UserSession
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(ip: str = "192.0.2.7", agent: str = "Firefox on Linux") -> Client:
    client = Client(REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)
    response = client.post(reverse("login"), {"username": "operator", "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_a_busy_session_still_ends_after_its_absolute_lifetime(operator_user, clock, settings):
    settings.SESSION_ABSOLUTE_LIFETIME_SECONDS = 2 * 60 * 60
    client = signed_in()
    for _ in range(4):  # used every 25 minutes: never idle
        clock(25)
        assert client.get(reverse("dashboard")).status_code == 200

    clock(25)  # 125 minutes after signing in
    response = client.get(reverse("dashboard"))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_the_profile_lists_each_session_with_its_address_and_last_use(operator_user):
    laptop = signed_in("192.0.2.7", "Firefox on Linux")
    signed_in("198.51.100.9", "Safari on iPhone")

    page = laptop.get(reverse("profile")).content.decode()

    assert "192.0.2.7" in page and "198.51.100.9" in page
    assert "Safari on iPhone" in page
    assert page.count("This session") == 1
    assert UserSession.objects.filter(user=operator_user).count() == 2


def test_the_last_use_is_noted_each_minute_not_on_every_poll(operator_user, clock):
    laptop = signed_in()
    signed_in_at = UserSession.objects.get().last_seen_at
    with CaptureQueriesContext(connection) as polls:
        for _ in range(3):  # a live page's polls, within the minute
            laptop.get(reverse("dashboard"))
    noted_by_polls = [q for q in polls.captured_queries if "portal_usersession" in q["sql"]]
    clock(2)
    laptop.get(reverse("dashboard"))

    assert noted_by_polls == []
    assert UserSession.objects.get().last_seen_at == signed_in_at + timedelta(minutes=2)


def test_a_session_used_from_another_address_shows_it_at_once(operator_user):
    laptop = signed_in("192.0.2.7")
    laptop.get(reverse("dashboard"), REMOTE_ADDR="203.0.113.5")

    assert UserSession.objects.get().ip_address == "203.0.113.5"


def test_sign_out_everywhere_ends_every_session(operator_user):
    laptop, phone = signed_in("192.0.2.7"), signed_in("198.51.100.9")

    response = laptop.post(reverse("sign_out_everywhere"))

    assert response.url == reverse("login")
    for client in (laptop, phone):
        again = client.get(reverse("dashboard"))
        assert again.status_code == 302 and again.url.startswith(reverse("login"))
    assert not UserSession.objects.filter(user=operator_user).exists()
    entry = AuditEntry.objects.get(action="user.sign_out_everywhere")
    assert entry.changes == {"sessions": 2}


def test_another_users_sessions_stay(operator_user, viewer_user):
    laptop = signed_in()
    other = Client()
    other.post(reverse("login"), {"username": "viewer", "password": PASSWORD})

    laptop.post(reverse("sign_out_everywhere"))

    assert other.get(reverse("dashboard")).status_code == 200


CHROME_LINUX = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/131.0.0.0 Safari/537.36")
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1")


def test_a_sessions_browser_is_said_in_words_with_the_raw_string_as_its_title(operator_user):
    """The list showed 60 characters of `Mozilla/5.0 (X11; …`, which no one reads."""
    laptop = signed_in("192.0.2.7", CHROME_LINUX)
    signed_in("198.51.100.9", SAFARI_IPHONE)
    page = laptop.get(reverse("profile")).content.decode()
    assert f'<td data-label="Browser" title="{CHROME_LINUX}">Chrome on Linux</td>' in page
    assert ">Mobile Safari on iOS</td>" in page


def test_one_session_is_signed_out_and_the_others_stay(operator_user):
    """Only "sign out everywhere" existed: a lost phone cost the laptop its session too."""
    laptop, phone = signed_in("192.0.2.7", CHROME_LINUX), signed_in("198.51.100.9", SAFARI_IPHONE)
    lost = UserSession.objects.get(ip_address="198.51.100.9")
    page = laptop.get(reverse("profile")).content.decode()
    assert 'data-confirm="Sign out Mobile Safari on iOS from 198.51.100.9?' in page

    response = laptop.post(reverse("session_sign_out", args=[lost.pk]), follow=True)

    assert "Signed out Mobile Safari on iOS from 198.51.100.9." in response.content.decode()
    assert phone.get(reverse("dashboard")).status_code == 302  # asked to sign in again
    assert laptop.get(reverse("dashboard")).status_code == 200
    entry = AuditEntry.objects.get(action="user.sign_out_session")
    assert entry.changes == {"browser": "Mobile Safari on iOS", "address": "198.51.100.9"}


def test_another_users_session_cannot_be_signed_out(operator_user, viewer_user):
    signed_in()
    theirs = UserSession.objects.get()
    viewer = Client()
    viewer.post(reverse("login"), {"username": viewer_user.username, "password": PASSWORD})
    response = viewer.post(reverse("session_sign_out", args=[theirs.pk]))
    assert response.status_code == 404 and UserSession.objects.filter(pk=theirs.pk).exists()
