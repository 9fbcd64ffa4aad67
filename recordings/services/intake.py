"""A record or transcription event arrived: note the file to fetch, once per URL, and hand
it to a worker after the event's transaction commits."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from calls.models import CallEvent
from recordings import tasks
from recordings.models import Recording, Transcript


def media_note(*, event_id: int, url: str, recording_id: str) -> Recording | Transcript | None:
    """The recording or transcript the event names, made pending if new; None without a URL.

    Runs inside the transaction that stores the event (calls.signals.call_media_reported).
    """
    if not url:
        return None
    event = CallEvent.objects.select_related("call").get(pk=event_id)
    model = Recording if event.kind == "record" else Transcript
    item, created = model.objects.get_or_create(
        call=event.call,
        provider_url=url[:1000],
        defaults={
            "event": event,
            "provider_recording_id": recording_id[:100],
            "next_attempt_at": timezone.now(),
        },
    )
    if not created:
        return item  # the provider sent its event again: the first one is being fetched
    if recording_id:
        _link(event.call_id, recording_id)
    task = tasks.recording_fetch if model is Recording else tasks.transcript_fetch
    transaction.on_commit(lambda: task.delay(item.pk))
    return item


def _link(call_id: int, recording_id: str) -> None:
    """A transcript may arrive before or after its recording: whichever comes second links
    them by the provider's recording id."""
    recording = Recording.objects.filter(
        call_id=call_id, provider_recording_id=recording_id
    ).first()
    if recording is not None:
        Transcript.objects.filter(
            call_id=call_id, provider_recording_id=recording_id, recording=None
        ).update(recording=recording)
