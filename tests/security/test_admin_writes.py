"""No write bypasses the audit log through the Django admin: it offers none.

Every write to Callboard's tables goes through a service that validates it and records who
did it; the admin's forms would skip both, so each registered model is read-only there.
"""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.utils import timezone

from portal.models import ApiToken, AuditEntry
from portal.services import SYSTEM, api_token_create


@pytest.mark.django_db
@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda m: m._meta.label)
def test_no_model_can_be_added_changed_or_deleted_in_the_django_admin(model, admin_user):
    request = RequestFactory().get("/django-admin/")
    request.user = admin_user
    model_admin = admin.site._registry[model]

    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


@pytest.mark.django_db
def test_an_admin_cannot_revive_or_delete_another_users_token_in_the_django_admin(
    client_for, admin_user, operator_user
):
    token, _ = api_token_create(actor=SYSTEM, user=operator_user, name="crm")
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    client = client_for(admin_user)
    url = f"/django-admin/portal/apitoken/{token.pk}/"
    entries = AuditEntry.objects.count()

    changed = client.post(f"{url}change/", {"name": "crm", "revoked_at_0": "",
                                            "revoked_at_1": ""})
    deleted = client.post(f"{url}delete/", {"post": "yes"})

    assert changed.status_code == 403 and deleted.status_code == 403
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert AuditEntry.objects.count() == entries
