"""The one way every page writes a moment and an amount of money."""

from datetime import datetime
from decimal import Decimal

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format

register = template.Library()

MOMENT = "Y-m-d H:i:s"  # ISO 8601's order, the server's time zone, to the second
PRECISE = "Y-m-d H:i:s.u"  # the timeline's events, milliseconds apart (cut to them)
ZONE = "T"  # "UTC", "CET": said after every moment, as token expiry does, so none is ambiguous


@register.filter
def moment(value: datetime | None, precise: str = "") -> str:
    """2026-12-02 14:03:09 UTC in the server's time zone, named ("precise" adds
    milliseconds); "—" when there is none."""
    if value is None or value == "":
        return "—"
    local = timezone.localtime(value)
    when = date_format(local, PRECISE)[:23] if precise else date_format(local, MOMENT)
    return f"{when} {date_format(local, ZONE)}"


@register.filter
def money(value: Decimal | None, currency: str = "EUR") -> str:
    """0.01312333 -> "EUR 0.0131": four decimals show a per-call price without noise."""
    if value is None or value == "":
        return "—"
    return f"{currency} {Decimal(value).quantize(Decimal('0.0001'))}"
