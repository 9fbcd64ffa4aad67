"""The home page: the last 24 hours or 7 days of calls at a glance, and for operators the
sandbox's test call (calls/selectors.py computes the figures)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from calls import selectors
from calls.models import Call
from calls.views import live
from portal.models import Role
from portal.roles import role_required
from voiceapps.providers.registry import provider_class

RANGES = {"24h": ("Last 24 hours", timedelta(hours=24)), "7d": ("Last 7 days", timedelta(days=7))}


@role_required(Role.VIEWER)  # an account without a role sees no call data
def dashboard(request: HttpRequest) -> HttpResponse:
    context = _figures(request)
    targets = selectors.test_call_targets() if request.user.has_role(Role.OPERATOR) else []
    if targets:
        # Every sandbox plays the same callees: the first one's list serves them all.
        provider = provider_class(targets[0][0].account.kind)
        context["test_call"] = {
            "callees": provider.SCRIPTED_CALLEES,
            "default": provider.DEFAULT_SCRIPTED_CALLEE,
            "applications": [application for application, _ in targets],
        }
    return render(request, "calls/dashboard.html", context)


def dashboard_live(request: HttpRequest) -> HttpResponse:
    """The figures again if a call or a webhook delivery changed after `since_change`."""
    if (refusal := live.refused(request, Role.VIEWER)) is not None:
        return refusal
    seen = live.seen_change(request)
    if live.unchanged(_changed_at(), seen):
        return HttpResponse(status=204)
    return render(request, "calls/dashboard.html#live", _figures(request))


def _changed_at() -> datetime | None:
    moments = [moment for moment in (selectors.last_change(), selectors.last_delivery()) if moment]
    return max(moments, default=None)


def _figures(request: HttpRequest) -> dict[str, Any]:
    key = request.GET.get("range", "24h")
    key = key if key in RANGES else "24h"
    label, span = RANGES[key]
    now = timezone.now()
    context = {
        "range_key": key,
        "range_label": label,
        "ranges": [(k, v[0]) for k, v in RANGES.items()],
        "since": now - span,
        "in_progress": selectors.in_progress(),
        "any_calls": Call.objects.exists(),
        "chart": {"width": selectors.CHART_WIDTH, "height": selectors.CHART_HEIGHT},
        "changed_at": live.token(_changed_at()),
        "live_interval_ms": live.LIVE_INTERVAL_MS,
        **selectors.dashboard_stats(since=now - span, now=now),
    }
    context["in_progress_total"] = sum(bar.count for bar in context["in_progress"])
    return context
