"""The Django admin for provider objects: encrypted columns are never shown or editable.

Credentials are managed on the account pages (write-only, masked); the admin would
otherwise show ciphertext, or let someone paste a value that bypasses validation.
"""

from django.contrib import admin

from voiceapps.models import Application, Number, ProviderAccount


@admin.register(ProviderAccount)
class ProviderAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "last_check_ok", "last_check_at"]
    list_filter = ["kind"]
    search_fields = ["name"]
    exclude = [f"{name}_encrypted" for name in ProviderAccount.SECRET_FIELDS] + ["webhook_token"]
    readonly_fields = ["kind", "last_check_at", "last_check_ok", "last_check_message"]

    def has_add_permission(self, request) -> bool:
        # An account is useless without credentials, which only the account pages set.
        return False


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "flow_type", "provider_app_id", "sync_state"]
    list_filter = ["account", "sync_state"]
    search_fields = ["name", "provider_app_id"]
    exclude = ["private_key_encrypted"]
    readonly_fields = ["public_key_pem", "sync_state", "last_synced_at", "last_sync_error"]


@admin.register(Number)
class NumberAdmin(admin.ModelAdmin):
    list_display = ["e164", "country", "account", "application", "description"]
    list_filter = ["account"]
    search_fields = ["e164", "description"]

