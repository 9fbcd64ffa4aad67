"""Display helpers for provider pages: phone numbers, status pills, provider capabilities."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from voiceapps import phone
from voiceapps.models import Application, ProviderAccount, SyncState
from voiceapps.providers.registry import provider_class

register = template.Library()

SYNC_PILLS = {
    SyncState.NEVER: "muted",
    SyncState.SYNCED: "ok",
    SyncState.CHANGED: "warn",
    SyncState.ERROR: "bad",
}


@register.filter
def is_emulated(kind: str) -> bool:
    """Whether Callboard itself plays this kind of provider (the sandbox)."""
    return provider_class(kind).EMULATED


@register.filter
def international(e164: str) -> str:
    return phone.international(e164)


@register.filter
def region_label(region: str) -> str:
    """"NL" -> "Netherlands (+31)"."""
    return phone.region_label(region) if phone.is_region(region) else region


@register.filter
def country_name(number) -> str:
    return phone.country_name(number.e164, number.country)


@register.simple_tag
def sync_pill(application: Application) -> SafeString:
    return format_html('<span class="pill {}">{}</span>', SYNC_PILLS[application.sync_state],
                       application.get_sync_state_display())


@register.simple_tag
def check_pill(account: ProviderAccount) -> SafeString:
    if account.last_check_ok is None:
        return mark_safe('<span class="pill muted">Not tested</span>')  # no value in it
    if account.last_check_ok:
        return format_html('<span class="pill ok" title="{}">Connected</span>',
                           account.last_check_message)
    return format_html('<span class="pill bad" title="{}">Failing</span>',
                       account.last_check_message)
