"""Small display filters of the call log, the timeline and the dashboard."""

import json

from django import template

from calls.models import Call, WebhookDelivery
from portal.redaction import scrub
from voiceapps.providers.registry import PROVIDERS

register = template.Library()


@register.filter
def call_duration(seconds: int | None) -> str:
    """62 -> "1:02", 3723 -> "1:02:03"; "—" when unknown."""
    if seconds is None:
        return "—"
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


@register.filter
def duration_of(call: Call) -> str:
    """How long an answered call lasted; "—, never connected" for one that ended without an
    answer (its provider may still report 0 seconds), "—" while it may yet connect."""
    if call.answered_at and call.duration_seconds is not None:
        return call_duration(call.duration_seconds)
    if call.answered_at is None and call.is_terminal:
        return "—, never connected"
    return "—"


@register.filter
def provider_label(kind: str) -> str:
    """"voicegateway" -> "Voice Gateway", as the registry names it."""
    provider = PROVIDERS.get(kind)
    return provider.label if provider else kind


@register.filter
def delivery_body(delivery: WebhookDelivery) -> str:
    """A stored body as a person reads it: indented JSON, else text, else "(empty)"."""
    raw = bytes(delivery.body)
    if not raw:
        return "(empty)"
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.dumps(scrub(json.loads(text)), indent=2, ensure_ascii=False)
    except ValueError:
        return text
