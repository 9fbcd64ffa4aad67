"""The Django admin for provider objects: read-only, and encrypted columns are never shown.

Accounts, applications and numbers are changed on their pages and through the API, which
validate (outbound URL safety, credentials write-only) and audit each change; the admin
would do neither (portal/admin.py).
"""

from django.contrib import admin

from portal.admin import ReadOnlyAdmin
from voiceapps.models import Application, Number, ProviderAccount


@admin.register(ProviderAccount)
class ProviderAccountAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "last_check_ok", "last_check_at"]
    list_filter = ["kind"]
    search_fields = ["name"]
    exclude = [f"{name}_encrypted" for name in ProviderAccount.SECRET_FIELDS] + ["webhook_token"]


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ["name", "account", "flow_type", "provider_app_id", "sync_state"]
    list_filter = ["account", "sync_state"]
    search_fields = ["name", "provider_app_id"]
    exclude = ["private_key_encrypted"]


@admin.register(Number)
class NumberAdmin(ReadOnlyAdmin):
    list_display = ["e164", "country", "account", "application", "description"]
    list_filter = ["account"]
    search_fields = ["e164", "description"]

