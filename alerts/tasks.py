"""Celery tasks for alerts; each runs the service function of the same name (imported in its
body, as calls/tasks.py does: the services enqueue these tasks)."""

from celery import shared_task


@shared_task
def alerts_evaluate() -> None:
    """Beat, every 30 seconds: check every rule, open, re-notify and resolve alerts."""
    from alerts import services

    services.alerts_evaluate()


@shared_task(acks_late=True)
def alert_notification_send(notification_id: int) -> None:
    """Deliver one notification (a task per channel: a slow receiver delays only itself)."""
    from alerts import services
    from alerts.models import AlertNotification

    notification = (AlertNotification.objects.select_related("alert__rule", "channel")
                    .filter(pk=notification_id, sent_at__isnull=True).first())
    if notification is not None:  # sent already when the task is delivered twice
        services.alert_notification_send(notification=notification)
