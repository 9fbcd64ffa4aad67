"""Celery tasks for calls: each runs the service function of the same name and only
schedules what comes next.

Services are imported inside each body: a service may enqueue a task (placing enqueues
`call_submit`), so importing them here at module level would make a cycle. Every task is
acknowledged late and safe to run twice: `call_submit` locks the row and only sends a call
that is still `queued` and not being sent.
"""

from celery import current_app, shared_task

# A rate-limit wait this short is slept in the task; a longer one frees the worker and comes
# back as a countdown task.
INLINE_WAIT = 1.0


@shared_task(acks_late=True)
def call_submit(call_id: int) -> None:
    """Send a queued call to its provider, within the account's calls-per-second limit."""
    from calls.services import sending

    outcome = sending.call_submit(call_id=call_id, wait_inline=INLINE_WAIT)
    if outcome.action in ("wait", "retry"):
        call_submit.apply_async((call_id,), countdown=outcome.delay)
    elif outcome.action == "reconcile":
        call_reconcile.apply_async((call_id,), countdown=outcome.delay)


@shared_task(acks_late=True)
def calls_submit_each(call_ids: list[int]) -> None:
    """A send task for each call of a batch (calls_place_batch), published here rather than by
    the placer: a message costs about 1 ms of CPU to publish, which was half of what the
    campaign scheduler spent per call. Publishing twice (a redelivery) is safe: `call_submit`
    sends a call once."""
    with current_app.producer_or_acquire() as producer:
        for call_id in call_ids:
            call_submit.apply_async((call_id,), producer=producer)


@shared_task(acks_late=True)
def call_reconcile(call_id: int) -> None:
    """Settle a call whose create request timed out, once its events had time to arrive."""
    from calls.services import sweeping

    sweeping.call_reconcile(call_id=call_id)


@shared_task(acks_late=True)
def call_sweep_stuck() -> None:
    """Beat, every minute: calls whose task was lost are retried or failed, safely; calls
    whose provider events stopped are asked about, or marked outcome unknown."""
    from calls.services import sweeping

    sweeping.call_sweep_stuck()


@shared_task(acks_late=True)
def deliveries_apply_pending() -> None:
    """Apply stored webhook deliveries (WEBHOOK_APPLY_IN_WORKER) for about a second, then
    leave the rest to a task of its own (deliveries.APPLY_SLICE); beat runs it every minute."""
    from calls.services import deliveries

    deliveries.deliveries_apply_pending()


@shared_task(acks_late=True)
def deliveries_retry_failed() -> None:
    """Beat, every minute: deliveries whose apply failed are applied once more."""
    from calls.services import deliveries

    deliveries.deliveries_retry_failed()


@shared_task(acks_late=True)
def retention_apply() -> dict[str, int]:
    """Beat, every hour: old raw payloads removed, old calls' numbers masked."""
    from calls.services import retention

    return retention.retention_apply()
