"""Celery tasks for forwarding; each runs the service of the same name (imported inside the
body: services enqueue these). Acknowledged late and safe to run twice: a delivery is taken
under a lease before it is sent."""

from celery import shared_task


@shared_task(acks_late=True)
def forwarding_send(subscription_id: int, call_id: int) -> None:
    """Send one call's pending deliveries for one subscription, in order."""
    from forwarding import services

    services.forwarding_send(subscription_id=subscription_id, call_id=call_id)


@shared_task(acks_late=True)
def forwarding_send_calls(subscription_id: int, call_ids: list[int]) -> None:
    """Send several calls' pending deliveries for one subscription, each call's in order."""
    from forwarding import services

    services.forwarding_send_calls(subscription_id=subscription_id, call_ids=call_ids)


@shared_task(acks_late=True)
def forwarding_send_due() -> None:
    """Beat, every few seconds: sends whose task was lost or whose retry time came."""
    from forwarding import services

    services.forwarding_send_due()
