"""Celery tasks of campaigns; the work is in campaigns/services/. Each is safe to run twice."""

from celery import shared_task

from campaigns.services import contacts, scheduler


@shared_task(acks_late=True)
def import_contacts(import_id: int) -> None:
    """Read a large contacts upload, a chunk at a time."""
    contacts.contact_import_run(import_id=import_id)


@shared_task(acks_late=True)
def run_campaigns() -> None:
    """Beat, every second: read the outcomes of placed calls, then dial what is due."""
    scheduler.campaigns_tick()
