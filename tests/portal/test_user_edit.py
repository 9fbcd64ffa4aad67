"""Editing a user: the page says what each role allows, a deactivated user keeps their role
(shown, and given back on reactivation), and the save says what it did."""

import pytest
from django.urls import reverse

from portal.models import AuditEntry, Role, User

pytestmark = pytest.mark.django_db


def save(client, user: User, role: Role, active: bool):
    data = {"role": role.value} | ({"is_active": "on"} if active else {})
    return client.post(reverse("user_edit", args=[user.pk]), data, follow=True)


def said(response) -> list[str]:
    # Followed to the Users list, which shows (and so uses up) the messages.
    return [str(m) for m in response.context["messages"]]


def test_the_edit_page_explains_the_roles(client_for, admin_user, operator_user):
    page = client_for(admin_user).get(reverse("user_edit", args=[operator_user.pk]))
    assert "viewers only read" in page.content.decode()


def test_a_deactivated_operator_stays_an_operator_and_comes_back_as_one(
    client_for, admin_user, operator_user
):
    admin = client_for(admin_user)
    save(admin, operator_user, Role.OPERATOR, active=False)

    page = admin.get(reverse("user_edit", args=[operator_user.pk]))
    assert page.context["form"].initial["role"] == Role.OPERATOR
    listing = admin.get(reverse("user_list")).content.decode()
    assert "<td>Operator</td>" in listing

    # The admin only ticks Active again, leaving the role the page shows.
    save(admin, operator_user, Role(page.context["form"].initial["role"]), active=True)
    assert User.objects.get(pk=operator_user.pk).role == Role.OPERATOR
    assert not AuditEntry.objects.filter(action="user.update", changes__has_key="role").exists()


def test_the_save_says_what_changed_or_that_nothing_did(client_for, admin_user, operator_user):
    admin = client_for(admin_user)
    assert said(save(admin, operator_user, Role.VIEWER, active=True)) == [
        f"{operator_user.username} is now Viewer."]
    assert said(save(admin, operator_user, Role.VIEWER, active=True)) == [
        f"Nothing changed for {operator_user.username}."]
    assert said(save(admin, operator_user, Role.VIEWER, active=False)) == [
        f"{operator_user.username} is deactivated: they can no longer sign in or use their "
        "API tokens."]
    assert said(save(admin, operator_user, Role.VIEWER, active=True)) == [
        f"{operator_user.username} is active again and can sign in."]


def test_the_api_shows_a_deactivated_users_role_and_gives_it_back(api_for, admin_user,
                                                                  operator_user):
    api = api_for(admin_user)
    path = f"/api/v1/users/{operator_user.pk}"

    deactivated = api.patch(path, {"is_active": False}, format="json").json()
    reactivated = api.patch(path, {"is_active": True}, format="json").json()

    assert (deactivated["role"], deactivated["assigned_role"]) == (None, "operator")
    assert (reactivated["role"], reactivated["assigned_role"]) == ("operator", "operator")


def test_a_users_page_says_it_is_a_user_in_its_title_and_heading(
    client_for, admin_user, operator_user
):
    """Its title and heading were the user name alone ("operator · Callboard")."""
    page = client_for(admin_user).get(reverse("user_edit", args=[operator_user.pk]))
    assert "<title>User operator · Callboard</title>" in page.content.decode()
    assert "<h1>User operator</h1>" in page.content.decode()
