"""The polling attributes of a live page's region (calls/views/live.py says how polling works)."""

from typing import Any

from django import template
from django.template.defaultfilters import urlencode
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag(takes_context=True)
def live_poll(context: template.Context, url_name: str, *args: Any) -> SafeString | str:
    """The attributes that make a region poll its live view (with the page's filters and the
    change it last showed) while the page is live; static/js/live.js swaps the answer in.

    One place for them, so every live list polls with the same interval, swap and
    `since_change` parameter the live views read."""
    if not context.get("live"):
        return ""
    query = context.get("query")
    # A page that says exactly what it shows (the call log) sends that back too.
    page_state = context.get("page_state")
    return format_html(
        ' data-live hx-get="{}?{}since_change={}{}" hx-trigger="every {}ms" hx-swap="outerHTML"',
        reverse(url_name, args=args),
        f"{query}&" if query else "",
        urlencode(context["changed_at"]),
        f"&page_state={urlencode(page_state)}" if page_state else "",
        context["live_interval_ms"],
    )
