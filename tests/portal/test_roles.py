"""Each role's access to the portal's own pages and API, and the users page."""

import pytest
from django.urls import reverse

from portal.models import AuditEntry, Role, User
from tests.factories import PASSWORD

# page -> the lowest role that may open it
PAGES = {
    "dashboard": Role.VIEWER,
    "profile": Role.VIEWER,
    "user_list": Role.ADMIN,
    "user_create": Role.ADMIN,
    "audit_list": Role.ADMIN,
}
ALLOWED = {"admin": Role.ADMIN, "operator": Role.OPERATOR, "viewer": Role.VIEWER}


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_pages_need_sign_in(client, page):
    response = client.get(reverse(page))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.django_db
@pytest.mark.parametrize("page, minimum", PAGES.items())
@pytest.mark.parametrize("persona", ["admin", "operator", "viewer"])
def test_page_access_by_role(client_for, personas, page, minimum, persona):
    response = client_for(personas[persona]).get(reverse(page))
    if ALLOWED[persona].rank >= minimum.rank:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert "Admin role" in response.content.decode()


API = {"api_me": Role.VIEWER, "api_tokens": Role.VIEWER, "api_users": Role.ADMIN,
       "api_audit": Role.ADMIN}


@pytest.mark.django_db
@pytest.mark.parametrize("name", API)
def test_api_needs_authentication(api_for, name):
    response = api_for(None).get(reverse(name))
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


@pytest.mark.django_db
@pytest.mark.parametrize("name, minimum", API.items())
@pytest.mark.parametrize("persona", ["admin", "operator", "viewer", "outsider"])
def test_api_access_by_role(api_for, personas, name, minimum, persona):
    response = api_for(personas[persona]).get(reverse(name))
    role = ALLOWED.get(persona)
    if role is not None and role.rank >= minimum.rank:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert response.json()["error"] == "permission_denied"


@pytest.mark.django_db
def test_me_reports_the_role(api_for, operator_user):
    assert api_for(operator_user).get(reverse("api_me")).json()["role"] == "operator"


@pytest.mark.django_db
def test_admin_creates_a_user_with_a_role_who_can_then_sign_in(client_for, admin_user, client):
    response = client_for(admin_user).post(reverse("user_create"), {
        "username": "olga", "email": "", "role": "operator",
        "password": PASSWORD, "password_again": PASSWORD,
    })
    assert response.status_code == 302
    olga = User.objects.get(username="olga")
    assert olga.role == Role.OPERATOR
    client.logout()
    assert client.login(username="olga", password=PASSWORD)
    entry = AuditEntry.objects.get(action="user.create")
    assert entry.actor == admin_user and entry.changes == {"role": "operator"}


@pytest.mark.django_db
def test_admin_changes_a_role_and_deactivates(client_for, admin_user, viewer_user, client):
    admin_client = client_for(admin_user)
    admin_client.post(reverse("user_edit", args=[viewer_user.pk]),
                      {"role": "operator", "is_active": "on"})
    assert User.objects.get(pk=viewer_user.pk).role == Role.OPERATOR
    admin_client.post(reverse("user_edit", args=[viewer_user.pk]), {"role": "operator"})
    assert not User.objects.get(pk=viewer_user.pk).is_active
    client.logout()
    assert not client.login(username=viewer_user.username, password=PASSWORD)


@pytest.mark.django_db
def test_admin_cannot_lock_themselves_out(client_for, admin_user):
    response = client_for(admin_user).post(reverse("user_edit", args=[admin_user.pk]),
                                           {"role": "viewer", "is_active": "on"})
    assert "cannot demote or deactivate yourself" in response.content.decode()
    assert User.objects.get(pk=admin_user.pk).role == Role.ADMIN


@pytest.mark.django_db
def test_users_api_creates_and_updates(api_for, admin_user, viewer_user):
    api = api_for(admin_user)
    created = api.post(reverse("api_users"),
                       {"username": "ivan", "password": PASSWORD, "role": "viewer"}, format="json")
    assert created.status_code == 201 and created.json()["role"] == "viewer"
    assert "password" not in created.json()
    updated = api.patch(reverse("api_user", args=[viewer_user.pk]), {"role": "admin"},
                        format="json")
    assert updated.json()["role"] == "admin"


@pytest.mark.django_db
def test_users_api_names_the_bad_fields(api_for, admin_user):
    response = api_for(admin_user).post(
        reverse("api_users"), {"username": "admin", "password": "1", "role": "boss"}, format="json"
    )
    body = response.json()
    assert response.status_code == 400 and body["error"] == "invalid"
    assert set(body["fields"]) == {"username", "role"}
    assert "username" in body["detail"] and "role" in body["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["3Ó", "аdmin"])  # the second starts with Cyrillic "а"
def test_usernames_are_ascii_as_the_api_documents(api_for, admin_user, username):
    response = api_for(admin_user).post(
        reverse("api_users"), {"username": username, "password": PASSWORD, "role": "viewer"},
        format="json")
    assert response.status_code == 400 and set(response.json()["fields"]) == {"username"}
    assert not User.objects.filter(username=username).exists()


@pytest.mark.django_db
def test_role_groups_carry_model_permissions_for_the_django_admin(admin_user, viewer_user):
    from django.contrib.auth.models import Group

    assert admin_user.has_perm("portal.view_auditentry")
    assert not viewer_user.has_perm("portal.view_auditentry")
    viewer_perms = Group.objects.get(name="Viewer").permissions.select_related("content_type")
    assert all(p.codename.startswith("view_") for p in viewer_perms)
    assert all(p.content_type.app_label in {"voiceapps", "calls"} for p in viewer_perms)


@pytest.mark.django_db
def test_add_user_speaks_of_the_new_user_not_the_admin(client_for, admin_user):
    html = client_for(admin_user).get(reverse("user_create")).content.decode()
    assert "They will sign in with this name." in html
    assert "You will sign in" not in html
    assert '<span aria-current="page">Add user</span></nav>' in html  # the crumb ends here
