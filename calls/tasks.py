"""Celery tasks for outbound calls and webhooks. The work is in calls/services.py and
calls/webhooks.py; these only schedule.

Every task is acknowledged late and safe to run twice: `call_submit` locks the row and only
sends a call that is still `queued` and not being sent.
"""

from celery import shared_task

from calls import services, webhooks

# A rate-limit wait this short is slept in the task; a longer one frees the worker and comes
# back as a countdown task.
INLINE_WAIT = 1.0


@shared_task(acks_late=True)
def submit_call(call_id: int) -> None:
    """Send a queued call to its provider, within the account's calls-per-second limit."""
    outcome = services.call_submit(call_id=call_id, wait_inline=INLINE_WAIT)
    if outcome.action in ("wait", "retry"):
        submit_call.apply_async((call_id,), countdown=outcome.delay)
    elif outcome.action == "reconcile":
        reconcile_call.apply_async((call_id,), countdown=outcome.delay)


@shared_task(acks_late=True)
def reconcile_call(call_id: int) -> None:
    """Settle a call whose create request timed out, once its events had time to arrive."""
    services.call_reconcile(call_id=call_id)


@shared_task(acks_late=True)
def sweep_stuck_calls() -> None:
    """Beat, every minute: calls whose task was lost are retried or failed, safely; calls
    whose provider events stopped are asked about, or marked outcome unknown."""
    services.call_sweep_stuck()


@shared_task(acks_late=True)
def apply_webhook_deliveries() -> None:
    """Apply stored webhook deliveries (WEBHOOK_APPLY_IN_WORKER); beat runs it every minute."""
    webhooks.deliveries_apply_pending()


@shared_task(acks_late=True)
def retry_failed_webhook_deliveries() -> None:
    """Beat, every minute: deliveries whose apply failed are applied once more."""
    webhooks.deliveries_retry_failed()
