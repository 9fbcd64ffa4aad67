"""Celery tasks for recordings: each runs the service function of its name and schedules
its own retry. Services are imported in the bodies (intake enqueues these tasks)."""

from celery import shared_task

from voiceapps.providers.wire import ProviderError


@shared_task(acks_late=True)
def recording_fetch(recording_id: int) -> None:
    """Fetch a recording from its provider into Callboard's storage."""
    from recordings.services import fetching

    delay = fetching.recording_fetch(recording_id=recording_id)
    if delay is not None:
        recording_fetch.apply_async((recording_id,), countdown=delay)


@shared_task(acks_late=True)
def transcript_fetch(transcript_id: int) -> None:
    """Fetch a transcript from its provider and store its turns."""
    from recordings.services import fetching

    delay = fetching.transcript_fetch(transcript_id=transcript_id)
    if delay is not None:
        transcript_fetch.apply_async((transcript_id,), countdown=delay)


@shared_task(acks_late=True, autoretry_for=(ProviderError,), retry_backoff=30, max_retries=5)
def recording_provider_delete(recording_id: int) -> None:
    """Delete the provider's copy of a recording Callboard has stored; retried when the
    provider fails."""
    from recordings.services import deletion

    deletion.recording_provider_delete(recording_id=recording_id)


@shared_task
def media_fetch_due() -> None:
    """Beat, every minute: fetches whose retry is due or whose task was lost (a killed
    worker's lease has run out) are sent to the workers again."""
    from recordings.services import fetching

    for recording_id in fetching.due(fetching.Recording):
        recording_fetch.delay(recording_id)
    for transcript_id in fetching.due(fetching.Transcript):
        transcript_fetch.delay(transcript_id)
