from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from portal.forms import AdminSignInForm
from portal.models import ApiToken, AuditEntry, User

# The admin's own sign-in form counts failures and honours locks like the portal's.
admin.site.login_form = AdminSignInForm
admin.site.register(User, UserAdmin)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    # The hash is useless to a reader and the token itself is never stored.
    exclude = ["key_hash"]
    readonly_fields = ["user", "prefix", "created_at", "last_used_at"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor_label", "action", "object_repr", "ip_address"]
    list_filter = ["action"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
