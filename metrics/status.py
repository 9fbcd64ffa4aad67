"""The System status page's readings: what /healthz and /metrics already know, each turned
into a verdict (OK, Attention, Down) with what to do about it.

It lives in metrics because metrics may read every app (docs/decisions.md, "status"); nothing
here records anything new, it only reads the rows, the cache key and the broker those two
read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q
from django.urls import reverse
from django.utils import timezone

from alerts.checks import WORKER_GONE
from alerts.models import Alert
from calls.models import WebhookDelivery
from forwarding.models import Delivery, DeliveryStatus
from metrics.collectors import queues_waiting
from portal.health import check_broker, check_database, check_worker
from portal.models import WorkerHeartbeat
from recordings.models import MediaState, Recording, Transcript

OK, ATTENTION, DOWN = "ok", "attention", "down"
VERDICT_WORDS = {OK: "OK", ATTENTION: "Attention", DOWN: "Down"}
START_WORKER = ("Start a worker: make run starts one; in production see docs/operations.md "
                "(“Running on several machines”).")
# Beat runs each worker's heartbeat task every minute; three missed is what the "Worker or
# beat silent" alert rule takes by default.
HEARTBEAT_LATE = timedelta(seconds=180)
# Work a worker picks up within seconds (beat re-sends what was lost every minute): waiting
# longer than this means no worker is taking it.
BACKLOG_LATE = timedelta(minutes=2)


@dataclass(frozen=True)
class Reading:
    name: str
    verdict: str
    says: str  # what was found, in plain words
    todo: str = ""  # what to do, when it is not OK
    link: str = ""  # where the rows it counted are listed

    @property
    def verdict_words(self) -> str:
        return VERDICT_WORDS[self.verdict]


@dataclass(frozen=True)
class WorkerRow:
    hostname: str
    seconds_ago: int
    verdict: str

    @property
    def verdict_words(self) -> str:
        return VERDICT_WORDS[self.verdict]


@dataclass(frozen=True)
class SystemStatus:
    readings: list[Reading]
    workers: list[WorkerRow]
    queues: dict[str, int] | None  # None: the broker could not be asked

    @property
    def verdict(self) -> str:
        verdicts = {reading.verdict for reading in self.readings}
        return DOWN if DOWN in verdicts else ATTENTION if ATTENTION in verdicts else OK

    @property
    def verdict_words(self) -> str:
        return VERDICT_WORDS[self.verdict]

    def digest_parts(self) -> tuple:
        """What the page shows, for its live digest."""
        return (tuple(self.readings), tuple(self.workers),
                tuple(sorted((self.queues or {}).items())), self.queues is None)


def _age(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def _reachable(name: str, check: str, todo: str) -> Reading:
    if check == "ok":
        return Reading(name, OK, "Answers.")
    return Reading(name, DOWN, f"Does not answer ({check.removeprefix('down: ')}).", todo)


def _workers(now: datetime) -> tuple[Reading, list[WorkerRow]]:
    consuming = check_worker()
    rows = [
        WorkerRow(hb.hostname, int((now - hb.last_seen).total_seconds()),
                  OK if now - hb.last_seen < HEARTBEAT_LATE else ATTENTION)
        for hb in WorkerHeartbeat.objects.filter(last_seen__gte=now - WORKER_GONE)
        .order_by("hostname")[:50]
    ]
    if consuming == "missing":
        return Reading("Workers", DOWN, "No worker is taking tasks: calls are not sent and "
                       "webhooks are not applied.", START_WORKER), rows
    if consuming != "ok":
        return Reading("Workers", DOWN, f"The cache that workers report to does not answer "
                       f"({consuming.removeprefix('down: ')}).",
                       "Check CACHE_URL and that its server runs."), rows
    late = [row.hostname for row in rows if row.verdict != OK]
    if late:
        return Reading("Workers", ATTENTION, f"A worker is taking tasks, but {', '.join(late)} "
                       "has not run its every-minute heartbeat task for over "
                       f"{_age(HEARTBEAT_LATE.total_seconds())}.",
                       "Beat may be stopped (make run starts it; in production see "
                       "docs/operations.md), or that worker stopped: start it again."), rows
    return Reading("Workers", OK, "A worker is taking tasks."), rows


def _webhooks(now: datetime) -> list[Reading]:
    accepted = WebhookDelivery.objects.filter(verified=True, rejection_reason="",
                                              applied_at__isnull=True)
    figures = accepted.aggregate(
        waiting=Count("id", filter=Q(apply_error="")),
        oldest=Min("received_at", filter=Q(apply_error="")),
        failed=Count("id", filter=~Q(apply_error="")))
    link = f"{reverse('delivery_list')}?outcome=unapplied"
    waiting, oldest, failed = figures["waiting"], figures["oldest"], figures["failed"]
    if not waiting:
        pending = Reading("Webhook deliveries waiting", OK,
                          "Every event providers sent has been applied to its call.")
    else:
        age = now - oldest
        pending = Reading(
            "Webhook deliveries waiting", ATTENTION if age >= BACKLOG_LATE else OK,
            f"{waiting} provider events received and not yet applied to their calls; the "
            f"oldest waits for {_age(age.total_seconds())}.",
            "" if age < BACKLOG_LATE else f"Workers apply them. {START_WORKER}", link)
    if not failed:
        failing = Reading("Webhook deliveries failed", OK, "No event failed to apply.")
    else:
        failing = Reading(
            "Webhook deliveries failed", ATTENTION,
            f"{failed} provider events failed to apply (beat tries each again every minute, "
            "up to 5 times).",
            "Open each from Webhook deliveries to read its error; an admin can replay it.", link)
    return [pending, failing]


def _forwarding(now: datetime) -> Reading:
    due = Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
    figures = due.aggregate(n=Count("id"), oldest=Min("next_attempt_at"))
    n, oldest = figures["n"], figures["oldest"]
    if not n:
        return Reading("Event forwarding due", OK, "No forwarded event is waiting to be sent.")
    late = now - oldest >= BACKLOG_LATE
    return Reading(
        "Event forwarding due", ATTENTION if late else OK,
        f"{n} forwarded events are due to be sent to your systems; the oldest has been due "
        f"for {_age((now - oldest).total_seconds())}.",
        f"Workers send them. {START_WORKER}" if late else "", reverse("forwarding_list"))


def _recordings(now: datetime) -> Reading:
    counts = [model.objects.filter(state=MediaState.PENDING).aggregate(
        n=Count("id"), late=Count("id", filter=Q(next_attempt_at__lte=now - BACKLOG_LATE)))
        for model in (Recording, Transcript)]
    n, late = sum(c["n"] for c in counts), sum(c["late"] for c in counts)
    if not n:
        return Reading("Recordings waiting", OK,
                       "No recording or transcript is waiting to be fetched from its provider.")
    return Reading(
        "Recordings waiting", ATTENTION if late else OK,
        f"{n} recordings or transcripts are waiting to be fetched from their provider"
        + (f", {late} of them overdue by over {_age(BACKLOG_LATE.total_seconds())}." if late
           else "."),
        f"Workers fetch them. {START_WORKER}" if late else "", reverse("recording_list"))


def _alerts() -> Reading:
    n = Alert.objects.filter(resolved_at__isnull=True).count()
    if not n:
        return Reading("Open alerts", OK, "No alert is open.")
    return Reading("Open alerts", ATTENTION, f"{n} alerts are open.",
                   "Read each one's summary and evidence on the Alerts page.",
                   reverse("alert_list"))


def system_status() -> SystemStatus:
    """Every reading, workers and queues: the database's first (the rest need it)."""
    database = _reachable("Database", check_database(),
                          "Check DATABASE_URL and that the database server runs.")
    broker = _reachable("Task broker", check_broker(),
                        "Check CELERY_BROKER_URL and that its server (Redis) runs.")
    if database.verdict != OK:
        return SystemStatus([database, broker], [], None)
    now = timezone.now()
    workers, rows = _workers(now)
    queues = queues_waiting() if broker.verdict == OK else None
    readings = [database, broker, workers, *_webhooks(now), _forwarding(now),
                _recordings(now), _alerts()]
    return SystemStatus(readings, rows, queues)
