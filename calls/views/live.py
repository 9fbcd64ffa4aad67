"""What every live page shares: the call log, a call's page, the dashboard and the webhook
deliveries each poll a fragment with the moment they last saw (`since_change`); the
fragment answers 204 after one cheap query when nothing changed since, else the new
content (static/js/live.js swaps it in and highlights what changed).
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from portal.params import BadParameter, parse_moment

LIVE_INTERVAL_MS = 1000  # changes show within 2 s, request time included


def refused(request: HttpRequest, role: str) -> HttpResponse | None:
    """The answer to a poll from someone who may not see the page any more, else None."""
    if not request.user.is_authenticated:
        # An expired session: htmx follows this to the login page instead of
        # swapping the login form into the page.
        return HttpResponse(status=204, headers={"HX-Redirect": reverse("login")})
    if not request.user.has_role(role):
        return HttpResponse(status=403)
    return None


def seen_change(request: HttpRequest) -> datetime | None:
    """The `since_change` the page was sent with; None on its first poll."""
    since_change = request.GET.get("since_change", "")
    seen = parse_moment(since_change) if since_change else None
    if since_change and seen is None:
        raise BadParameter("since_change", "Give the changed_at time this page was sent.")
    return seen


def unchanged(latest: datetime | None, seen: datetime | None) -> bool:
    return latest is None or (seen is not None and latest <= seen)


def token(moment: datetime | None) -> str:
    """A moment as the page sends it back in `since_change`."""
    return moment.isoformat() if moment else ""
