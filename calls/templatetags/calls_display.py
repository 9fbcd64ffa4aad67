"""How calls look on pages: status pills and JSON with every secret masked."""

import json
from typing import Any

from django import template

from calls.models import UNKNOWN_STATUS_HELP, CallStatus
from portal.redaction import redact_hook_tokens, scrub
from voiceapps.providers.options import option_label

register = template.Library()

PILL_CLASSES = {
    CallStatus.QUEUED: "muted",
    CallStatus.SUBMITTED: "info",
    CallStatus.RINGING: "info",
    CallStatus.ANSWERED: "info",
    CallStatus.COMPLETED: "ok",
    CallStatus.BUSY: "warn",
    CallStatus.NO_ANSWER: "warn",
    CallStatus.CANCELLED: "warn",
    CallStatus.FAILED: "bad",
    CallStatus.REJECTED: "bad",
    CallStatus.UNKNOWN: "warn",
}


register.filter("option_label", option_label)


@register.filter
def status_pill(status: str) -> str:
    """The `.pill` modifier class of a call status."""
    return PILL_CLASSES.get(status, "muted")


@register.filter
def status_help(status: str) -> str:
    """What a status means in plain words, where its name alone could puzzle; else ""."""
    return UNKNOWN_STATUS_HELP if status == CallStatus.UNKNOWN else ""


@register.filter
def masked_json(value: Any) -> str:
    """Indented JSON with secret-named values and webhook tokens masked (stored bodies are
    already scrubbed; this is the second lock on the door). A served NCCO names Callboard's
    hooks with their token, which no page shows."""
    return redact_hook_tokens(json.dumps(scrub(value), indent=2,
                                         ensure_ascii=False, default=str))
