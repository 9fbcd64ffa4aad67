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

from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone
from kombu import Connection
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from alerts.models import Alert
from calls.models import Call, WebhookDelivery
from campaigns.models import Attempt, Campaign, CampaignStatus
from portal.models import WorkerHeartbeat

PACE_SPAN = timedelta(minutes=1)


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


def queue_depth() -> Iterator[Metric]:
    """Tasks waiting in the Celery queue (a broker that cannot be asked gives no sample)."""
    family = GaugeMetricFamily("callboard_queue_depth", "Celery tasks waiting in the queue.",
                               labels=["queue"])
    try:
        with Connection(settings.CELERY_BROKER_URL, transport=settings.CELERY_BROKER_TRANSPORT,
                        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
                        connect_timeout=2) as conn:
            declared = conn.default_channel.queue_declare(queue=settings.CELERY_QUEUE,
                                                          passive=True)
        family.add_metric([settings.CELERY_QUEUE], declared.message_count)
    except Exception:  # noqa: BLE001 - down or unknown queue: no sample, the scrape goes on
        pass
    yield family


def campaign_pace() -> Iterator[Metric]:
    """Each running campaign's pace as set and as achieved over the last minute."""
    family = GaugeMetricFamily("callboard_campaign_pace_calls_per_second",
                               "Running campaigns' pace: set, and achieved over a minute.",
                               labels=["campaign", "name", "pace"])
    running = list(Campaign.objects.filter(status=CampaignStatus.RUNNING))
    dialed = dict(Attempt.objects.filter(contact__campaign__in=running,
                                         created_at__gte=timezone.now() - PACE_SPAN)
                  .values_list("contact__campaign_id").annotate(n=Count("id")))
    for campaign in running:
        labels = [str(campaign.pk), campaign.name]
        family.add_metric([*labels, "set"], float(campaign.calls_per_second))
        family.add_metric([*labels, "achieved"], dialed.get(campaign.pk, 0) / 60.0)
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
    calls_by_status, apply_lag, queue_depth, campaign_pace, worker_heartbeats, open_alerts,
)


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        for gauge in GAUGES:
            yield from gauge()
