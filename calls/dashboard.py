"""The home page: the last 24 hours or 7 days of calls at a glance.

A handful of grouped queries over the `created_at` range (the call_newest and
call_status_newest indexes); nothing here walks the calls one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Avg, Count, Q
from django.db.models.functions import TruncHour
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from calls.models import TERMINAL_STATUSES, AnsweredBy, Call, CallStatus, WebhookDelivery
from calls.templatetags.calls_display import PILL_CLASSES
from portal.models import Role
from portal.roles import role_required

RANGES = {"24h": ("Last 24 hours", timedelta(hours=24)), "7d": ("Last 7 days", timedelta(days=7))}
FAILURES = (CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.FAILED, CallStatus.REJECTED)
IN_PROGRESS = (CallStatus.QUEUED, CallStatus.SUBMITTED, CallStatus.RINGING, CallStatus.ANSWERED)
CHART_WIDTH, CHART_HEIGHT, CHART_TOP = 720, 160, 12


@dataclass(frozen=True)
class Bar:
    """One row of a horizontal bar list: label, count, width in percent, pill class."""

    label: str
    count: int
    percent: float
    tone: str = ""
    status: str = ""


@dataclass(frozen=True)
class HourBar:
    x: float
    width: float
    total_y: float
    total_height: float
    answered_y: float
    answered_height: float
    hour: datetime
    total: int
    answered: int


def _bars(counts: list[tuple[str, int, str, str]]) -> list[Bar]:
    top = max((count for _, count, _, _ in counts), default=0) or 1
    return [Bar(label, count, round(100 * count / top, 1), tone, status)
            for label, count, tone, status in counts]


def dashboard_stats(*, since: datetime, now: datetime) -> dict:
    """Everything the dashboard shows for calls created since `since`."""
    calls = Call.objects.filter(created_at__gte=since)
    by_status = dict(calls.values_list("status").annotate(n=Count("id")).order_by())
    total = sum(by_status.values())
    finished = sum(n for status, n in by_status.items() if status in TERMINAL_STATUSES)
    answered = calls.filter(answered_at__isnull=False, status__in=TERMINAL_STATUSES).count()
    average = calls.filter(answered_at__isnull=False, duration_seconds__isnull=False).aggregate(
        avg=Avg("duration_seconds"))["avg"]
    amd = dict(calls.exclude(answered_by="").values_list("answered_by")
               .annotate(n=Count("id")).order_by())
    failures = (
        calls.filter(status__in=FAILURES)
        .values("status", "failure_detail", "provider_status")
        .annotate(n=Count("id")).order_by("-n", "status")[:6]
    )
    labels = dict(CallStatus.choices)
    return {
        "total": total,
        "outcomes": _bars([
            (label, by_status[value], PILL_CLASSES[value], value)
            for value, label in CallStatus.choices if by_status.get(value)
        ]),
        "finished": finished,
        "answered": answered,
        "asr": round(100 * answered / finished, 1) if finished else None,
        "average_answered": round(average) if average is not None else None,
        "amd": _bars([
            (label, amd.get(value, 0), tone, value)
            for value, label, tone in ((AnsweredBy.HUMAN, "Human", "ok"),
                                       (AnsweredBy.MACHINE, "Machine", "warn"),
                                       (AnsweredBy.UNKNOWN, "Could not tell", "muted"))
        ]) if amd else [],
        "failures": _bars([
            (_failure_label(labels[row["status"]], row), row["n"], PILL_CLASSES[row["status"]],
             row["status"])
            for row in failures
        ]),
        "hours": _hour_bars(calls, since=since, now=now),
        "rejected_deliveries": WebhookDelivery.objects.filter(received_at__gte=since)
        .exclude(rejection_reason="").count(),
    }


def _failure_label(label: str, row: dict) -> str:
    """"No answer: timeout", "Failed: cannot_route"; just "Busy" when the provider said busy."""
    detail = row["failure_detail"] or row["provider_status"]
    return f"{label}: {detail}" if detail and detail != row["status"] else label


def _hour_bars(calls, *, since: datetime, now: datetime) -> list[HourBar]:
    """Calls per hour, and how many of them were answered, as SVG rectangles."""
    rows = (
        calls.annotate(hour=TruncHour("created_at")).values("hour")
        .annotate(total=Count("id"), answered=Count("id", filter=Q(answered_at__isnull=False)))
        .order_by()
    )
    counts = {row["hour"]: (row["total"], row["answered"]) for row in rows}
    first = timezone.localtime(since).replace(minute=0, second=0, microsecond=0)
    hours = []
    hour = first
    while hour <= now:
        hours.append(hour)
        hour += timedelta(hours=1)
    top = max((total for total, _ in counts.values()), default=0) or 1
    step = CHART_WIDTH / len(hours)
    usable = CHART_HEIGHT - CHART_TOP
    bars = []
    for index, hour in enumerate(hours):
        total, answered = counts.get(hour, (0, 0))
        total_height = usable * total / top
        answered_height = usable * answered / top
        bars.append(HourBar(
            x=round(index * step + step * 0.1, 2), width=round(step * 0.8, 2),
            total_y=round(CHART_HEIGHT - total_height, 2), total_height=round(total_height, 2),
            answered_y=round(CHART_HEIGHT - answered_height, 2),
            answered_height=round(answered_height, 2),
            hour=hour, total=total, answered=answered,
        ))
    return bars


def _in_progress() -> list[Bar]:
    """Calls not finished yet, whenever they started, by status in call order."""
    counts = dict(Call.objects.filter(status__in=IN_PROGRESS).values_list("status")
                  .annotate(n=Count("id")).order_by())
    labels = dict(CallStatus.choices)
    return _bars([(labels[status], counts[status], PILL_CLASSES[status], status)
                  for status in IN_PROGRESS if counts.get(status)])


@role_required(Role.VIEWER)  # an account without a role sees no call data
def dashboard(request: HttpRequest) -> HttpResponse:
    key = request.GET.get("range", "24h")
    key = key if key in RANGES else "24h"
    label, span = RANGES[key]
    now = timezone.now()
    context = {
        "range_key": key,
        "range_label": label,
        "ranges": [(k, v[0]) for k, v in RANGES.items()],
        "since": now - span,
        "in_progress": _in_progress(),
        "any_calls": Call.objects.exists(),
        "chart": {"width": CHART_WIDTH, "height": CHART_HEIGHT},
        **dashboard_stats(since=now - span, now=now),
    }
    context["in_progress_total"] = sum(bar.count for bar in context["in_progress"])
    return render(request, "calls/dashboard.html", context)
