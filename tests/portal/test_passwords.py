"""The password policy: at least 12 characters, not common, not like the name, not all digits.

Applied wherever a password is chosen: the first administrator, a new user, a change.
"""

import pytest
from django.urls import reverse

from portal.models import AuditEntry, Role, User
from portal.services import setup_token
from tests.factories import PASSWORD

SHORT = "tr0ub4dor&3"  # 11 characters, otherwise fine
TOO_SHORT = "This password is too short. It must contain at least 12 characters."


def weak_passwords() -> list[tuple[str, str]]:
    return [
        (SHORT, TOO_SHORT),
        ("password1234", "This password is too common."),
        ("830529173604", "This password is entirely numeric."),
        ("olgamirova12", "The password is too similar to the username."),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("password, error", weak_passwords())
def test_the_first_administrator_gets_a_clear_error_for_a_weak_password(client, password,
                                                                        error):
    response = client.post(reverse("setup", args=[setup_token()]), {
        "username": "olgamirova", "email": "", "password": password, "password_again": password,
    })

    assert error in response.content.decode()
    assert not User.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("password, error", weak_passwords())
def test_a_new_user_gets_a_clear_error_for_a_weak_password(client_for, admin_user, password,
                                                           error):
    response = client_for(admin_user).post(reverse("user_create"), {
        "username": "olgamirova", "email": "", "role": "viewer",
        "password": password, "password_again": password,
    })

    assert 'id="id_password_error"' in response.content.decode()
    assert error in response.content.decode()
    assert not User.objects.filter(username="olgamirova").exists()


@pytest.mark.django_db
def test_the_users_api_names_the_password_that_is_too_short(api_for, admin_user):
    response = api_for(admin_user).post(
        reverse("api_users"), {"username": "olgamirova", "password": SHORT, "role": "viewer"},
        format="json")

    assert response.status_code == 400
    assert response.json()["fields"]["password"] == [TOO_SHORT]


@pytest.mark.django_db
def test_a_weak_new_password_is_refused_with_the_reason(client_for, viewer_user):
    response = client_for(viewer_user).post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": SHORT, "new_password2": SHORT,
    })

    assert TOO_SHORT in response.content.decode()
    assert User.objects.get(pk=viewer_user.pk).check_password(PASSWORD)


@pytest.mark.django_db
def test_a_user_changes_their_password_stays_signed_in_and_it_is_audited(
    client_for, viewer_user, client
):
    new = "a-new-long-password-77"
    user_client = client_for(viewer_user)
    assert reverse("password_change") in user_client.get(reverse("profile")).content.decode()

    response = user_client.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": new, "new_password2": new,
    })

    assert response.status_code == 302 and response.url == reverse("profile")
    assert user_client.get(reverse("profile")).status_code == 200
    assert User.objects.get(pk=viewer_user.pk).check_password(new)
    entry = AuditEntry.objects.get(action="user.password_change")
    assert entry.actor == viewer_user and entry.object_id == str(viewer_user.pk)
    assert viewer_user.role == Role.VIEWER


@pytest.mark.django_db
def test_the_profile_is_titled_as_ones_profile_not_by_the_user_name(client_for, viewer_user):
    """Its heading was the user name alone, which says whose page, not what page."""
    page = client_for(viewer_user).get(reverse("profile")).content.decode()
    assert "<title>Your profile · Callboard</title>" in page
    assert "<h1>Your profile</h1>" in page
