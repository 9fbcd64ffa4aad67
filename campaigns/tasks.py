"""Celery tasks of campaigns: each runs the service function of the same name.

Services are imported inside each body, as in calls/tasks.py: contacts enqueues
`contact_import_run`, so a module-level import here would make a cycle. Each task is
acknowledged late and safe to run twice.
"""

from celery import shared_task


@shared_task(acks_late=True)
def contact_import_run(import_id: int) -> None:
    """Read a large contacts upload, a chunk at a time."""
    from campaigns.services import contacts

    contacts.contact_import_run(import_id=import_id)


@shared_task(acks_late=True)
def campaigns_tick() -> None:
    """Beat, every second: read the outcomes of placed calls, then dial what is due."""
    from campaigns.services import scheduler

    scheduler.campaigns_tick()
