"""What /healthz checks: the database and the broker answer, and a Celery worker is consuming.

Every consuming worker refreshes one cache key every HEARTBEAT_INTERVAL seconds; the key expires
HEARTBEAT_TTL seconds after the last refresh, so a worker that died (kill -9 included) is
reported missing within HEARTBEAT_TTL, without asking the broker anything (docs/decisions.md).
"""

from celery import bootsteps
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from kombu import Connection

from portal.models import WorkerHeartbeat

HEARTBEAT_KEY = "health:worker-heartbeat"
HEARTBEAT_INTERVAL = 2.0
HEARTBEAT_TTL = 3 * HEARTBEAT_INTERVAL


def worker_heartbeat_record() -> None:
    """Say that a worker is consuming now (any worker: /healthz asks whether one is)."""
    cache.set(HEARTBEAT_KEY, timezone.now().isoformat(), timeout=HEARTBEAT_TTL)


class WorkerHeartbeatStep(bootsteps.StartStopStep):
    """A consumer bootstep: it runs only while the worker is connected and consuming, and its
    timer lives in the worker's main process, so busy pool processes do not delay it."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent, **kwargs) -> None:
        super().__init__(parent, **kwargs)
        self.timer_entry = None

    def start(self, parent) -> None:
        worker_heartbeat_record()
        self.timer_entry = parent.timer.call_repeatedly(
            HEARTBEAT_INTERVAL, worker_heartbeat_record, priority=10
        )

    def stop(self, parent) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure means "down"; the class name says which kind
        return f"down: {type(exc).__name__}"
    return "ok"


def check_broker() -> str:
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            transport=settings.CELERY_BROKER_TRANSPORT,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            connect_timeout=2,
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        # The exception text can hold the broker URL and its password: name the type only.
        return f"down: {type(exc).__name__}"
    return "ok"


def check_worker() -> str:
    try:
        return "ok" if cache.get(HEARTBEAT_KEY) is not None else "missing"
    except Exception as exc:  # the cache (Redis in production) can be down too
        return f"down: {type(exc).__name__}"


def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": check_database(), "broker": check_broker(),
              "worker": check_worker()}
    body: dict = {"status": "ok" if all(v == "ok" for v in checks.values()) else "down", **checks}
    if checks["database"] == "ok":
        now = timezone.now()
        body["workers"] = {
            hb.hostname: {"seconds_since_heartbeat": int((now - hb.last_seen).total_seconds())}
            for hb in WorkerHeartbeat.objects.all()[:20]
        }
    return JsonResponse(body, status=200 if body["status"] == "ok" else 503)
