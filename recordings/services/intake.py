"""A record or transcription event arrived, or a call whose provider names no recording in
its events ended: note the file to fetch, once per URL, and hand it to a worker after the
transaction commits."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from calls.models import AnswerRequest, Call, CallEvent
from recordings import tasks
from recordings.models import MediaState, Recording, Transcript
from voiceapps.adapters import account_adapter
from voiceapps.providers.base import ProviderError, TranscriptTurn


def media_note(*, event_id: int, url: str, recording_id: str) -> Recording | Transcript | None:
    """The recording or transcript the event names, made pending if new; None without a URL.

    Runs inside the transaction that stores the event (calls.signals.call_media_reported).
    """
    event = CallEvent.objects.select_related("call").get(pk=event_id)
    adapter_class = event.call.adapter_class
    if event.kind == "transcription" and adapter_class is not None:
        turns = adapter_class.transcript_turns_in(event.payload)
        if turns is not None:
            return _transcript_extend(event, turns)
    if not url:
        return None
    model = Recording if event.kind == "record" else Transcript
    item, created = _pending(model, event.call, url, event=event, recording_id=recording_id)
    if created and recording_id:
        _link(event.call_id, recording_id)
    return item


def recording_after_call(*, call: Call, previous_status: str) -> Recording | None:
    """The recording a call left as it ended, for a provider whose events name none (Voice
    Gateway): looked for where the provider keeps it when a flow served to the call recorded.

    Runs inside the transaction that ends the call (calls.signals.call_changed).
    """
    if not call.is_terminal or previous_status == call.status or call.answered_at is None:
        return None
    adapter_class = call.adapter_class
    if (adapter_class is None or not adapter_class.CAN_FETCH_RECORDINGS
            or not adapter_class.RECORDINGS_LEFT_UNNAMED):
        return None  # before reading the account and the served flows, for every ended call
    try:
        adapter = account_adapter(call.account)
    except ProviderError:
        return None  # the account cannot reach its provider: nothing could be fetched
    served = AnswerRequest.objects.filter(call=call, status_code=200).values_list(
        "response", flat=True
    )
    url = adapter.recording_left_by(
        call.provider_call_id, answered_at=call.answered_at, served_flows=list(served)
    )
    if not url:
        return None
    # The provider's recording id is the call's: hooked transcripts carry it too (above).
    recording, created = _pending(
        Recording, call, url, event=None, recording_id=call.provider_call_id
    )
    if created:
        _link(call.pk, call.provider_call_id)
    return recording


def _transcript_extend(event: CallEvent, turns: list[TranscriptTurn]) -> Transcript:
    """Add the turns a transcription hook carried to its call's transcript (one per call,
    made on the first hook, stored from the start: there is nothing to fetch). Each turn is
    timed by when its hook arrived after the call was answered."""
    call = event.call
    transcript, created = Transcript.objects.get_or_create(
        call=call,
        provider_url="",  # carried by hooks, not at a URL
        defaults={
            "event": event,
            "state": MediaState.STORED,
            "provider_recording_id": call.provider_call_id[:100],
            "fetched_at": timezone.now(),
        },
    )
    if created:
        _link(call.pk, call.provider_call_id)
    transcript = Transcript.objects.select_for_update().get(pk=transcript.pk)
    if transcript.state != MediaState.STORED:  # deleted by an admin or by retention
        return transcript
    at = event.provider_time or event.received_at
    offset = (
        round(max((at - call.answered_at).total_seconds(), 0.0), 1) if call.answered_at else 0.0
    )
    transcript.turns = [
        *transcript.turns,
        *({"speaker": t.speaker, "start": offset, "end": offset, "text": t.text} for t in turns),
    ]
    transcript.text = "\n".join(f"{t['speaker']}: {t['text']}" for t in transcript.turns)
    transcript.save(update_fields=["turns", "text"])
    return transcript


def _pending(
    model: type[Recording] | type[Transcript],
    call: Call,
    url: str,
    *,
    event: CallEvent | None,
    recording_id: str,
) -> tuple[Recording | Transcript, bool]:
    item, created = model.objects.get_or_create(
        call=call,
        provider_url=url[:1000],
        defaults={
            "event": event,
            "provider_recording_id": recording_id[:100],
            "next_attempt_at": timezone.now(),
        },
    )
    if created:  # else the provider said it again: the first one is being fetched
        task = tasks.recording_fetch if model is Recording else tasks.transcript_fetch
        transaction.on_commit(lambda: task.delay(item.pk))
    return item, created


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
