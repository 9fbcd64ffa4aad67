"""Gauges read from the database (and the broker) at scrape time, one function each.

State that rows already hold (calls by status, the oldest unapplied delivery, running
campaigns, workers' heartbeats) is read when Prometheus scrapes rather than kept in every
process: the numbers are then right whichever process answers the scrape, survive restarts,
and need no cleanup when a process dies (docs/decisions.md). Counters and histograms of
things that happen (requests, deliveries) are counted where they happen instead, in
prometheus_client's multiprocess files.

Adding a gauge: one function yielding metric families, listed in GAUGES.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone
from kombu import Connection
from kombu.exceptions import ChannelError
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from alerts.models import Alert
from calls.models import Call, WebhookDelivery
from campaigns.models import Attempt, Campaign, CampaignStatus
from campaigns.selectors import pace_achieved, pace_since
from forwarding.models import Delivery, DeliveryStatus, Subscription
from portal.celery import separate_queue
from portal.models import WorkerHeartbeat


class ProcessFilesCollector(MultiProcessCollector):
    """prometheus_client's MultiProcessCollector, without the files not yet sized.

    A process creates its file before sizing it, and one read at 0 bytes fails the whole
    scrape (prometheus/client_python#1199, open in 0.26.0): a worker starting while Prometheus
    scrapes gave a 500, and one killed in that instant would leave a file that failed every
    scrape until the directory was emptied. An empty file holds nothing yet: it is skipped."""

    def collect(self) -> Iterable[Metric]:
        files = [path for path in glob.glob(os.path.join(self._path, "*.db"))
                 if _size(path) > 0]
        return self.merge(files, accumulate=True)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except FileNotFoundError:  # its process's files removed meanwhile
        return 0


def calls_by_status() -> Iterator[Metric]:
    family = GaugeMetricFamily("callboard_calls", "Calls in each status, by provider kind.",
                               labels=["status", "provider"])
    for status, provider, n in (Call.objects.order_by().values_list("status", "provider")
                                .annotate(n=Count("id"))):
        family.add_metric([status, provider], n)
    yield family


def apply_lag() -> Iterator[Metric]:
    """How long the oldest accepted delivery has waited to be applied (0: none waits)."""
    oldest = (WebhookDelivery.objects.filter(verified=True, rejection_reason="",
                                             applied_at__isnull=True, apply_error="")
              .aggregate(oldest=Min("received_at"))["oldest"])
    lag = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    yield GaugeMetricFamily("callboard_webhook_apply_lag_seconds",
                            "Age of the oldest accepted webhook delivery not yet applied.",
                            value=max(lag, 0.0))


def forwarding_backlog() -> Iterator[Metric]:
    """Per enabled subscription, the events waiting to be delivered (sent for the first time
    or retried) and how long the oldest of them has waited: forwarding's lag."""
    waiting = GaugeMetricFamily("callboard_forwarding_pending",
                                "Forwarded events not yet delivered, by subscription.",
                                labels=["subscription", "name"])
    lag = GaugeMetricFamily("callboard_forwarding_lag_seconds",
                            "Age of the oldest forwarded event not yet delivered, by "
                            "subscription (0: none waits).", labels=["subscription", "name"])
    pending = {
        subscription: (n, oldest)
        for subscription, n, oldest in Delivery.objects.filter(status=DeliveryStatus.PENDING)
        .order_by().values("subscription_id").annotate(n=Count("id"), oldest=Min("created_at"))
        .values_list("subscription_id", "n", "oldest")
    }
    now = timezone.now()
    for subscription in Subscription.objects.filter(enabled=True):
        labels = [str(subscription.pk), subscription.name]
        n, oldest = pending.get(subscription.pk, (0, None))
        waiting.add_metric(labels, n)
        lag.add_metric(labels, max((now - oldest).total_seconds(), 0.0) if oldest else 0.0)
    yield waiting
    yield lag


def queues_waiting() -> dict[str, int] | None:
    """Tasks waiting in each Celery queue: the default one and its separate ones (None: the
    broker cannot be asked)."""
    default = settings.CELERY_TASK_DEFAULT_QUEUE
    queues = [default, *(separate_queue(default, name)
                         for name in settings.SEPARATE_TASK_QUEUES.values())]
    waiting: dict[str, int] = {}
    try:
        with Connection(settings.CELERY_BROKER_URL, transport=settings.CELERY_BROKER_TRANSPORT,
                        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
                        connect_timeout=2) as conn:
            for queue in queues:
                try:
                    waiting[queue] = conn.default_channel.queue_declare(
                        queue=queue, passive=True).message_count
                except ChannelError:  # Redis keeps no empty queue: nothing waits in it
                    waiting[queue] = 0
    except Exception:  # noqa: BLE001 - the broker is down: the caller says so
        return None
    return waiting


def queue_depth() -> Iterator[Metric]:
    """Tasks waiting in each Celery queue (a broker that cannot be asked gives no sample)."""
    family = GaugeMetricFamily("callboard_queue_depth", "Celery tasks waiting in the queue.",
                               labels=["queue"])
    for queue, waiting in (queues_waiting() or {}).items():
        family.add_metric([queue], waiting)
    yield family


def campaign_pace() -> Iterator[Metric]:
    """Each running campaign's pace as set and as achieved, as its board reads it (over the
    last minute, or since it last began dialing)."""
    family = GaugeMetricFamily("callboard_campaign_pace_calls_per_second",
                               "Running campaigns' pace: set, and achieved over the last minute "
                               "(or since a later start or resume), as the board shows it.",
                               labels=["campaign", "name", "pace"])
    now = timezone.now()
    running = list(Campaign.objects.filter(status=CampaignStatus.RUNNING))
    # One query: each campaign's attempts since its own pace_since.
    spans = Q()
    for campaign in running:
        spans |= Q(contact__campaign=campaign, created_at__gte=pace_since(campaign, now))
    dialed = dict(Attempt.objects.filter(spans).order_by()
                  .values_list("contact__campaign_id").annotate(n=Count("id"))) if running else {}
    for campaign in running:
        labels = [str(campaign.pk), campaign.name]
        family.add_metric([*labels, "set"], float(campaign.calls_per_second))
        family.add_metric([*labels, "achieved"],
                          pace_achieved(campaign, dialed.get(campaign.pk, 0), now))
    yield family


def worker_heartbeats() -> Iterator[Metric]:
    family = GaugeMetricFamily("callboard_worker_heartbeat_age_seconds",
                               "Seconds since each Celery worker last ran the heartbeat task "
                               "beat schedules every minute.", labels=["hostname"])
    now = timezone.now()
    for hb in WorkerHeartbeat.objects.all()[:100]:
        family.add_metric([hb.hostname], (now - hb.last_seen).total_seconds())
    yield family


def open_alerts() -> Iterator[Metric]:
    family = GaugeMetricFamily("callboard_alerts_open", "Alerts open, by rule.",
                               labels=["rule"])
    for name, n in (Alert.objects.filter(resolved_at__isnull=True).order_by()
                    .values_list("rule__name").annotate(n=Count("id"))):
        family.add_metric([name], n)
    yield family


GAUGES: tuple[Callable[[], Iterable[Metric]], ...] = (
    calls_by_status, apply_lag, forwarding_backlog, queue_depth, campaign_pace,
    worker_heartbeats, open_alerts,
)


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        for gauge in GAUGES:
            yield from gauge()
