import socket

from celery import shared_task
from django.utils import timezone

from portal.models import WorkerHeartbeat


@shared_task
def record_worker_heartbeat() -> None:
    """Beat runs this every minute; /healthz shows when each worker last did."""
    WorkerHeartbeat.objects.update_or_create(
        hostname=socket.gethostname(), defaults={"last_seen": timezone.now()}
    )


@shared_task
def sign_in_counters_forget_expired() -> int:
    """Beat runs this every hour."""
    from portal.lockout import sign_in_counters_forget_expired

    return sign_in_counters_forget_expired()
