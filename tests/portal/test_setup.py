"""First-run setup: the one-time link creates the first administrator, then it is gone."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from portal.models import AuditEntry, Role, User
from portal.services import setup_token

FORM = {
    "username": "ada",
    "email": "ada@example.com",
    "password": "correct-horse-battery-staple",
    "password_again": "correct-horse-battery-staple",
}


def setup_url(token: str) -> str:
    return reverse("setup", args=[token])


@pytest.mark.django_db
def test_good_token_creates_the_first_admin_and_signs_them_in(client):
    page = client.get(setup_url(setup_token()))
    assert page.status_code == 200
    assert b"Create administrator" in page.content

    response = client.post(setup_url(setup_token()), FORM)
    assert response.status_code == 302 and response.url == reverse("dashboard")
    ada = User.objects.get(username="ada")
    assert ada.role == Role.ADMIN and ada.is_staff and not ada.is_superuser
    assert ada.check_password(FORM["password"])
    assert client.get(reverse("dashboard")).status_code == 200  # signed in
    assert AuditEntry.objects.filter(action="setup.complete", actor=ada).exists()


@pytest.mark.django_db
def test_wrong_token_is_refused_and_creates_nobody(client):
    assert client.get(setup_url("not-the-token")).status_code == 403
    response = client.post(setup_url("not-the-token"), FORM)
    assert response.status_code == 403
    assert b"not valid" in response.content
    assert not User.objects.exists()


@pytest.mark.django_db
def test_used_token_is_gone(client):
    client.post(setup_url(setup_token()), FORM)
    client.logout()
    again = client.get(setup_url(setup_token()))
    assert again.status_code == 404
    assert "already set up" in again.content.decode() and 'href="/login/"' in again.content.decode()
    second = dict(FORM, username="mallory")
    assert client.post(setup_url(setup_token()), second).status_code == 404
    assert list(User.objects.values_list("username", flat=True)) == ["ada"]


@pytest.mark.django_db
def test_mismatched_passwords_say_what_to_change(client):
    response = client.post(setup_url(setup_token()), dict(FORM, password_again="other"))
    assert response.status_code == 200
    assert "The two passwords differ" in response.content.decode()
    assert not User.objects.exists()


@pytest.mark.django_db
def test_weak_password_is_refused_with_the_reason(client):
    weak = dict(FORM, password="12345678", password_again="12345678")
    response = client.post(setup_url(setup_token()), weak)
    assert "too common" in response.content.decode()
    assert not User.objects.exists()


@pytest.mark.django_db
def test_setup_link_command_prints_the_link_then_says_it_is_done(client, capsys):
    call_command("setup_link", base_url="http://127.0.0.1:8000")
    assert capsys.readouterr().out.strip() == f"http://127.0.0.1:8000/setup/{setup_token()}/"
    client.post(setup_url(setup_token()), FORM)
    call_command("setup_link", base_url="http://127.0.0.1:8000")
    assert "already set up" in capsys.readouterr().out


@pytest.mark.django_db
def test_login_page_tells_a_newcomer_where_the_setup_link_is(client):
    response = client.get(reverse("login"))
    assert "setup link" in response.content.decode()


def test_once_set_up_the_login_page_no_longer_points_at_the_setup_link(client, admin_user):
    """The setup link is dead once an administrator exists: a person new to a running
    Callboard needs an administrator, not `make run`."""
    page = client.get(reverse("login")).content.decode()
    assert "setup link" not in page and "make run" not in page
    assert "Ask an administrator to add you." in page
