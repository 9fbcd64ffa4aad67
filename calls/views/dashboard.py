"""The home page: the last 24 hours or 7 days of calls at a glance, and for operators the
sandbox's test call (calls/selectors.py computes the figures)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from calls import selectors
from calls.models import Call
from calls.views import live
from portal.models import Role
from portal.roles import role_required


@role_required(Role.VIEWER)  # an account without a role sees no call data
def dashboard(request: HttpRequest) -> HttpResponse:
    context = _figures(request)
    if request.user.has_role(Role.OPERATOR):
        options = selectors.test_call_options()
        if options["applications"]:
            context["test_call"] = options
    return render(request, "calls/dashboard.html", context)


@live.polled(Role.VIEWER)
def dashboard_live(request: HttpRequest) -> HttpResponse:
    """The figures again if a call or a webhook delivery changed after `since_change`."""
    # Figures highlight no rows: the previous change is not theirs to show.
    return live.answer(request, _changed_at(), lambda _previous_change: render(
        request, "calls/dashboard.html#live", _figures(request)))


def _changed_at() -> datetime | None:
    moments = [moment for moment in (selectors.last_change(), selectors.last_delivery()) if moment]
    return max(moments, default=None)


def _figures(request: HttpRequest) -> dict[str, Any]:
    key = request.GET.get("range", selectors.DEFAULT_RANGE)
    key = key if key in selectors.DASHBOARD_RANGES else selectors.DEFAULT_RANGE
    return {
        **selectors.dashboard_figures(range_key=key),
        "ranges": [(k, v[0]) for k, v in selectors.DASHBOARD_RANGES.items()],
        "any_calls": Call.objects.exists(),
        "chart": {"width": selectors.CHART_WIDTH, "height": selectors.CHART_HEIGHT},
        "changed_at": live.token(_changed_at()),
        "live_interval_ms": live.LIVE_INTERVAL_MS,
    }
