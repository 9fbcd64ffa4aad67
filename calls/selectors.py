"""Reads for the calls pages and API: the call log, a call's page, the dashboard's figures,
the deliveries log and the test call's target. Views and the API ask here; nothing here
writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Avg, Count, Max, Q, QuerySet
from django.db.models.functions import TruncHour
from django.utils import timezone

from calls.models import (
    TERMINAL_STATUSES,
    AnsweredBy,
    AnswerRequest,
    Call,
    CallEvent,
    CallStatus,
    WebhookDelivery,
)
from calls.templatetags.calls_display import PILL_CLASSES
from voiceapps.models import Application, FlowType, Number
from voiceapps.providers.registry import KIND_CHOICES, provider_class

# The call log ---------------------------------------------------------------------------


def call_list() -> QuerySet[Call]:
    """Every call with what a log row shows (CallFilter narrows it)."""
    return Call.objects.select_related(
        "account", "application", "ncco_version__document", "placed_by", "placed_via_token"
    )


def call_versions(rows: QuerySet[Call]) -> QuerySet:
    """Each call's id, created_at and updated_at, what the live log compares with the page
    it showed, without loading the calls (paged, one narrow query)."""
    return rows.values("pk", "created_at", "updated_at")


def calls_by_id(rows: QuerySet[Call], ids: list[int]) -> dict[int, Call]:
    """Those of `rows` with these ids, by id (the live log loads only the rows that changed)."""
    return rows.in_bulk(ids) if ids else {}


COUNT_CAP = 1000  # a filter bar says "1000+" beyond: a count must not cost a table scan


def capped_count(rows: QuerySet) -> int:
    """How many rows there are, counting at most COUNT_CAP + 1 of them."""
    return rows[: COUNT_CAP + 1].count()


def last_change() -> datetime | None:
    """When any call last changed (the `call_updated` index answers it)."""
    return Call.objects.aggregate(latest=Max("updated_at"))["latest"]


# A call's page ---------------------------------------------------------------------------


def call_detail(*, pk: int) -> Call | None:
    """The call with everything its page and the API show, or None."""
    return (
        Call.objects.select_related(
            "account", "application", "ncco_version__document", "placed_by", "placed_via_token"
        )
        .filter(pk=pk)
        .first()
    )


def call_changed_at(*, call: Call) -> datetime:
    """When anything its page shows last changed: the call, or an event or answer request
    reaching it (a duplicate or a refused action changes no field of the call)."""
    moments = [
        call.updated_at,
        CallEvent.objects.filter(call=call).aggregate(at=Max("received_at"))["at"],
        AnswerRequest.objects.filter(call=call).aggregate(at=Max("received_at"))["at"],
    ]
    return max(moment for moment in moments if moment is not None)


def last_control(*, call: Call) -> CallEvent | None:
    """The latest action taken on the call from Callboard (page, log or API), or None."""
    return call.events.filter(source="control").order_by("-received_at", "-id").first()


# Payload keys naming a provider's file -> what it is. The timeline never links them: the
# provider's URL needs its credentials and fails in a browser; recordings' `event_media` tag
# shows Callboard's stored copy instead.
MEDIA_KEYS = {"recording_url": "recording", "transcription_url": "transcript"}


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime  # when it reached Callboard
    event: CallEvent | None = None
    answer: AnswerRequest | None = None

    @property
    def media(self) -> list[tuple[str, str]]:
        """(what, provider URL) of the files the event names: "recording", "transcript", or
        "speech" (an input's saved audio, which Callboard does not fetch)."""
        if self.event is None or not isinstance(self.event.payload, dict):
            return []
        payload = self.event.payload
        found = [(what, payload.get(key)) for key, what in MEDIA_KEYS.items()]
        speech = payload.get("speech")
        if isinstance(speech, dict):  # input with saveAudio
            found.append(("speech", speech.get("recording_url")))
        return [(what, url) for what, url in found if isinstance(url, str) and url]


def call_timeline(*, call: Call) -> dict[str, Any]:
    """Template context for `calls/_timeline.html`: `timeline`, oldest first."""
    events = call.events.select_related("delivery")
    answers = AnswerRequest.objects.filter(call=call).select_related("ncco_version__document")
    entries = [TimelineEntry(at=event.received_at, event=event) for event in events]
    entries += [TimelineEntry(at=answer.received_at, answer=answer) for answer in answers]
    entries.sort(key=lambda entry: entry.at)
    return {"timeline": entries}


# The dashboard ---------------------------------------------------------------------------

# The periods the dashboard (page and API) sums up: key -> (label, length).
DASHBOARD_RANGES = {
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
}
DEFAULT_RANGE = "24h"
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
    return [
        Bar(label, count, round(100 * count / top, 1), tone, status)
        for label, count, tone, status in counts
    ]


def _of_accounts(rows: QuerySet, account_ids: set[int] | None) -> QuerySet:
    return rows if account_ids is None else rows.filter(account_id__in=account_ids)


def dashboard_figures(*, range_key: str, account_ids: set[int] | None = None) -> dict[str, Any]:
    """The dashboard's figures over the period `range_key` names (a DASHBOARD_RANGES key),
    ending now, of every account or only of `account_ids` (an account-limited API token)."""
    label, span = DASHBOARD_RANGES[range_key]
    now = timezone.now()
    progress = in_progress(account_ids=account_ids)
    return {
        "range_key": range_key,
        "range_label": label,
        "since": now - span,
        "until": now,
        "in_progress": progress,
        "in_progress_total": sum(bar.count for bar in progress),
        **dashboard_stats(since=now - span, now=now, account_ids=account_ids),
    }


def dashboard_stats(*, since: datetime, now: datetime,
                    account_ids: set[int] | None = None) -> dict:
    """Everything the dashboard shows for calls created since `since`."""
    calls = _of_accounts(Call.objects.filter(created_at__gte=since), account_ids)
    by_status = dict(calls.values_list("status").annotate(n=Count("id")).order_by())
    total = sum(by_status.values())
    finished = sum(n for status, n in by_status.items() if status in TERMINAL_STATUSES)
    answered = calls.filter(answered_at__isnull=False, status__in=TERMINAL_STATUSES).count()
    average = calls.filter(answered_at__isnull=False, duration_seconds__isnull=False).aggregate(
        avg=Avg("duration_seconds")
    )["avg"]
    amd = dict(
        calls.exclude(answered_by="").values_list("answered_by").annotate(n=Count("id")).order_by()
    )
    failures = (
        calls.filter(status__in=FAILURES)
        .values("status", "failure_detail", "provider_status")
        .annotate(n=Count("id"))
        .order_by("-n", "status")[:6]
    )
    labels = dict(CallStatus.choices)
    return {
        "total": total,
        "outcomes": _bars(
            [
                (label, by_status[value], PILL_CLASSES[value], value)
                for value, label in CallStatus.choices
                # Calls still going have no outcome yet: "In progress now" counts them.
                if by_status.get(value) and value in TERMINAL_STATUSES
            ]
        ),
        "finished": finished,
        "answered": answered,
        "asr": round(100 * answered / finished, 1) if finished else None,
        "average_answered": round(average) if average is not None else None,
        "amd": _bars(
            [
                (label, amd.get(value, 0), tone, value)
                for value, label, tone in (
                    (AnsweredBy.HUMAN, "Human", "ok"),
                    (AnsweredBy.MACHINE, "Machine", "warn"),
                    (AnsweredBy.UNKNOWN, "Could not tell", "muted"),
                )
            ]
        )
        if amd
        else [],
        "failures": _bars(
            [
                (
                    _failure_label(labels[row["status"]], row),
                    row["n"],
                    PILL_CLASSES[row["status"]],
                    row["status"],
                )
                for row in failures
            ]
        ),
        "hours": _hour_bars(calls, since=since, now=now),
        "rejected_deliveries": _of_accounts(
            WebhookDelivery.objects.filter(received_at__gte=since), account_ids
        )
        .exclude(rejection_reason="")
        .count(),
    }


def _failure_label(label: str, row: dict) -> str:
    """ "No answer: timeout", "Failed: cannot_route"; just "Busy" when the provider said busy."""
    detail = row["failure_detail"] or row["provider_status"]
    return f"{label}: {detail}" if detail and detail != row["status"] else label


def _hour_bars(calls, *, since: datetime, now: datetime) -> list[HourBar]:
    """Calls per hour, and how many of them were answered, as SVG rectangles."""
    rows = (
        calls.annotate(hour=TruncHour("created_at"))
        .values("hour")
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
        bars.append(
            HourBar(
                x=round(index * step + step * 0.1, 2),
                width=round(step * 0.8, 2),
                total_y=round(CHART_HEIGHT - total_height, 2),
                total_height=round(total_height, 2),
                answered_y=round(CHART_HEIGHT - answered_height, 2),
                answered_height=round(answered_height, 2),
                hour=hour,
                total=total,
                answered=answered,
            )
        )
    return bars


def in_progress(*, account_ids: set[int] | None = None) -> list[Bar]:
    """Calls not finished yet, whenever they started, by status in call order."""
    counts = dict(
        _of_accounts(Call.objects.filter(status__in=IN_PROGRESS), account_ids)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    labels = dict(CallStatus.choices)
    return _bars(
        [
            (labels[status], counts[status], PILL_CLASSES[status], status)
            for status in IN_PROGRESS
            if counts.get(status)
        ]
    )


# The webhook deliveries log ---------------------------------------------------------------


def last_delivery() -> datetime | None:
    """When the latest webhook delivery arrived (the deliveries log's live updates)."""
    return WebhookDelivery.objects.aggregate(latest=Max("received_at"))["latest"]


def delivery_list() -> QuerySet[WebhookDelivery]:
    """Every delivery with its account and the events it applied (DeliveryFilter narrows it)."""
    return WebhookDelivery.objects.select_related("account").prefetch_related("events")


# The test call ---------------------------------------------------------------------------


def test_call_targets() -> list[tuple[Application, Number]]:
    """Per account in use (not retired) of a provider with scripted callees (the sandboxes),
    the first application a test call can run (hosted flow, pushed) and a number it calls
    from; [] when none yet."""
    kinds = [kind for kind, _ in KIND_CHOICES if provider_class(kind).SCRIPTED_CALLEES]
    targets: dict[int, tuple[Application, Number]] = {}
    for application in (
        Application.objects.filter(
            account__kind__in=kinds,
            account__retired_at__isnull=True,
            flow_type=FlowType.HOSTED,
            ncco_document__isnull=False,
            rehearsal_copy=False,  # a campaign's flow, which its rehearsals run, not a demo
        )
        .exclude(provider_app_id="")
        .select_related("account")
        .order_by("account__name", "name")
    ):
        number = (
            Number.objects.filter(account=application.account, application=application).first()
            or Number.objects.filter(account=application.account).first()
        )
        if number is not None:
            targets.setdefault(application.account_id, (application, number))
    return list(targets.values())


def test_call_options() -> dict[str, Any]:
    """What the test call offers: the scripted `callees`, the `default` one, and the demo
    `applications` to call through ([] and no callees while there is no sandbox demo)."""
    targets = test_call_targets()
    if not targets:
        return {"callees": [], "default": "", "applications": []}
    # Every sandbox plays the same callees: the first one's list serves them all.
    provider = provider_class(targets[0][0].account.kind)
    return {
        "callees": list(provider.SCRIPTED_CALLEES),
        "default": provider.DEFAULT_SCRIPTED_CALLEE,
        "applications": [application for application, _ in targets],
    }
