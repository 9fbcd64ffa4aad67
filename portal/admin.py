"""The Django admin: a read-only view of Callboard's tables, for admins.

Every write goes through the portal or the API, whose services validate it and record it in
the audit log; the admin's forms would do neither (re-enable a revoked token, change a role
group's permissions, edit an account's base URL unchecked). So no model here can be added,
changed or deleted, and tests/security/test_admin_writes.py checks every registered model.
"""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db import models
from django.http import HttpRequest
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.forms import AdminSignInForm
from portal.models import ApiToken, AuditEntry, User

# The admin's own sign-in form counts failures and honours locks like the portal's.
admin.site.login_form = AdminSignInForm


class ReadOnlyAdmin(admin.ModelAdmin):
    # The view page still builds each field's form field: a URL's assumes https, as the
    # pages' forms do (Django 6's default; without it Django 5.2 warns on every view).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(User)
class CallboardUserAdmin(ReadOnlyAdmin, UserAdmin):
    """Users and their roles are managed on /users/."""

    # Without the password field the page offers no link to the (refused) password form.
    fieldsets = tuple(
        (title, {**options, "fields": [f for f in options["fields"] if f != "password"]})
        for title, options in UserAdmin.fieldsets
    )


admin.site.unregister(Group)
# Authenticator devices hold their TOTP secret and recovery codes, and are managed on the
# profile page and by an admin's audited reset (portal/twofactor.py): not in the admin.
admin.site.unregister(TOTPDevice)
admin.site.unregister(StaticDevice)


@admin.register(Group)
class RoleGroupAdmin(ReadOnlyAdmin, GroupAdmin):
    """The role groups' permissions are set by portal.roles after every migrate."""


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    # The hash is useless to a reader and the token itself is never stored.
    exclude = ["key_hash"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_label", "action", "object_repr", "ip_address"]
    list_filter = ["action"]
