"""A role change changes what the user can do, whatever kind of user they were.

The role is one fact (the role group); what the Django admin reads (`is_staff`, and
`is_superuser`, which nobody has) follows it. Every kind of user is moved to every other
role, then tries a page, an API call and the Django admin at each role's level.
"""

import pytest
from django.core.management import call_command
from django.urls import reverse

from portal import services
from portal.models import AuditEntry, Role, User
from tests.factories import PASSWORD

KINDS = {
    "first admin": Role.ADMIN,  # made by the setup link
    "createsuperuser admin": Role.ADMIN,  # made by `manage.py createsuperuser`
    "later admin": Role.ADMIN,
    "operator": Role.OPERATOR,
    "viewer": Role.VIEWER,
}
CHANGES = [(kind, role) for kind, was in KINDS.items() for role in Role if role != was]
# What each role's level is tried on, and the lowest role it lets in.
PAGES = {"dashboard": Role.VIEWER, "delivery_list": Role.OPERATOR, "user_list": Role.ADMIN}
API = {"api_me": Role.VIEWER, "api_webhook_deliveries": Role.OPERATOR,
       "api_users": Role.ADMIN}


def make(kind: str, boss: User, monkeypatch) -> User:
    if kind == "first admin":
        return User.objects.get(username="first")
    if kind == "createsuperuser admin":
        monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
        call_command("createsuperuser", "--noinput", username="root", email="root@example.com")
        return User.objects.get(username="root")
    return services.user_create(actor=services.Actor(user=boss), username=kind.replace(" ", "-"),
                                email="", role=KINDS[kind], password=PASSWORD)


@pytest.mark.django_db
@pytest.mark.parametrize("kind, role", CHANGES)
def test_a_changed_role_is_what_the_user_can_do(kind, role, client_for, api_for, monkeypatch):
    services.setup_create_admin(username="first", email="", password=PASSWORD)
    boss = services.user_create(actor=services.SYSTEM, username="boss", email="",
                                role=Role.ADMIN, password=PASSWORD)
    user = make(kind, boss, monkeypatch)
    assert user.role == KINDS[kind]

    edited = client_for(boss).post(reverse("user_edit", args=[user.pk]),
                                   {"role": role.value, "is_active": "on"})
    assert edited.status_code == 302

    user = User.objects.get(pk=user.pk)
    assert user.role == role
    client = client_for(user)
    for page, minimum in PAGES.items():
        status = client.get(reverse(page)).status_code
        assert status == (200 if role.rank >= minimum.rank else 403), (page, status)
    admin_site = client.get("/django-admin/")
    assert admin_site.status_code == (200 if role == Role.ADMIN else 302)
    api = api_for(user)
    for name, minimum in API.items():
        status = api.get(reverse(name)).status_code
        assert status == (200 if role.rank >= minimum.rank else 403), (name, status)
    assert api.get(reverse("api_me")).json()["role"] == role.value


@pytest.mark.django_db
def test_createsuperuser_makes_an_admin_by_role():
    call_command("createsuperuser", "--noinput", username="root", email="root@example.com")

    root = User.objects.get(username="root")
    assert root.role == Role.ADMIN and root.is_staff and not root.is_superuser
    assert not root.has_usable_password()
    # The audit log says the system made it, as for any admin made without a signed-in user.
    entry = AuditEntry.objects.get(action="user.create", object_id=str(root.pk))
    assert (entry.actor_label, entry.via, entry.changes) == ("system", "system", {"role": "admin"})
