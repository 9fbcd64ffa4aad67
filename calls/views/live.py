"""What every live page shares: the call log, a call's page, the dashboard and the webhook
deliveries each poll a fragment with the moment they last saw (`since_change`); the
fragment answers 204 after one cheap query when nothing changed since, else the new
content (static/js/live.js swaps it in and highlights what changed). The call log, which
changes many times a second under load, also sends what its rows are (`page_state`) and is
answered with only the rows that changed (calls/views/log.py). A page whose figures are
stamped on no row (the campaigns list's progress) sends only a digest of what it shows
(`page_state`, `digest`) and is answered 204 while it is unchanged (`answer_unless_shown`).

A change is stamped (`updated_at`, `received_at`) by the process that makes it, with its own
machine's clock, before its transaction commits: on several web and worker nodes a change
stamped earlier can commit after a later one was shown, or come from a node whose clock runs
a little behind. So a page shown within LATE_CHANGE_MARGIN of its latest stamp is marked
unsettled (`~` after the moment) and gets the content again at its next poll, until one
rendering comes after the margin: every change stamped before the latest is in it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from portal.params import BadParameter, parse_moment

LIVE_INTERVAL_MS = 1000  # changes show within 2 s, request time included
# How late a change may commit after its stamp, or how far behind a node's clock may run
# (NTP keeps them within milliseconds), and still be shown at the next poll.
LATE_CHANGE_MARGIN = timedelta(seconds=2)
UNSETTLED = "~"


@dataclass(frozen=True)
class Seen:
    """What a polling page has shown: the latest change (rows after it are highlighted), and
    whether a change stamped before it could still have been committed since."""

    latest: datetime
    settled: bool


def polled(role: str) -> Callable:
    """A live view's role_required: a poll from someone who may not see the page any more is
    answered before the view looks anything up."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                # An expired session: htmx follows this to the login page instead of
                # swapping the login form into the page.
                return HttpResponse(status=204, headers={"HX-Redirect": _login_url(request)})
            if not request.user.has_role(role):
                return HttpResponse(status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _login_url(request: HttpRequest) -> str:
    """The login page, back to the page that polled once signed in (htmx names it in
    HX-Current-URL; the login view checks that `next` stays on this site), written as every
    other sign-in redirect of the site is."""
    try:
        page = urlsplit(request.headers.get("HX-Current-URL", ""))
    except ValueError:  # an unclosed "[": no address to come back to
        return reverse("login")
    if not page.path:
        return reverse("login")
    return redirect_to_login(page.path + (f"?{page.query}" if page.query else "")).url


def answer(
    request: HttpRequest,
    latest: datetime | None,
    fragment: Callable[[datetime | None], HttpResponse],
) -> HttpResponse:
    """A poll's answer: 204 when nothing changed after the page's `since_change`, else
    `fragment` rendered with the latest change the page had shown (what changed after it is
    highlighted)."""
    seen = seen_change(request)
    if unchanged(latest, seen):
        return HttpResponse(status=204)
    return fragment(shown(seen))


def answer_rendered(
    request: HttpRequest,
    latest: datetime | None,
    template: str,
    context: Callable[[], dict[str, Any]],
) -> HttpResponse:
    """`answer` for a fragment that is a template: `context()`, built only when something
    changed, with the latest change the page had shown as `previous_change`."""
    return answer(request, latest, lambda previous_change: render(
        request, template, {**context(), "previous_change": previous_change}))


def seen_change(request: HttpRequest) -> Seen | None:
    """The `since_change` the page was sent with; None on its first poll."""
    since_change = request.GET.get("since_change", "")
    moment = parse_moment(since_change.removesuffix(UNSETTLED)) if since_change else None
    if since_change and moment is None:
        raise BadParameter("since_change", "Give the changed_at time this page was sent.")
    return Seen(moment, not since_change.endswith(UNSETTLED)) if moment else None


def shown(seen: Seen | None) -> datetime | None:
    """The latest change the page has shown: what changed after it is highlighted."""
    return seen.latest if seen else None


def unchanged(latest: datetime | None, seen: Seen | None) -> bool:
    return latest is None or (seen is not None and seen.settled and latest <= seen.latest)


def token(moment: datetime | None) -> str:
    """A moment as the page sends it back in `since_change`, marked when it is too recent
    for every change stamped before it to have been committed yet."""
    if moment is None:
        return ""
    settled = moment <= timezone.now() - LATE_CHANGE_MARGIN
    return moment.isoformat() + ("" if settled else UNSETTLED)


def digest(parts: Iterable[object]) -> str:
    """What a page shows as its `page_state`: `parts` (strings, numbers, moments and tuples
    of these, in the order shown) hashed, so two renderings have the same digest exactly when
    they show the same."""
    return hashlib.blake2b(repr(tuple(parts)).encode(), digest_size=8).hexdigest()


def answer_unless_shown(
    request: HttpRequest, state: str, fragment: Callable[[], HttpResponse]
) -> HttpResponse:
    """A poll's answer for a page that sends back the digest of what it shows (`page_state`):
    204 while that is still `state`, else `fragment` rendered (with the new state)."""
    if request.GET.get("page_state") == state:
        return HttpResponse(status=204)
    return fragment()
