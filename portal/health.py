"""What /healthz checks: the database and the broker answer. Worker heartbeats are reported."""

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from kombu import Connection

from portal.models import WorkerHeartbeat


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure means "down"; the class name says which kind
        return f"down: {type(exc).__name__}"
    return "ok"


def _check_broker() -> str:
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


def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _check_database(), "broker": _check_broker()}
    body: dict = {"status": "ok" if all(v == "ok" for v in checks.values()) else "down", **checks}
    if checks["database"] == "ok":
        now = timezone.now()
        body["workers"] = {
            hb.hostname: {"seconds_since_heartbeat": int((now - hb.last_seen).total_seconds())}
            for hb in WorkerHeartbeat.objects.all()[:20]
        }
    return JsonResponse(body, status=200 if body["status"] == "ok" else 503)
