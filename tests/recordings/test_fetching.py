"""Fetching a recording: through the adapter with the JWT, measured, stored once, retried."""

import hashlib
from datetime import timedelta

import jwt
import time_machine
from django.core.files.base import ContentFile
from django.utils import timezone

from portal.models import AuditEntry
from recordings import tasks
from recordings.models import MediaRetention, MediaState, Recording, Transcript
from recordings.services.fetching import (
    MAX_ATTEMPTS,
    recording_fetch,
    storage_name,
    transcript_fetch,
)
from tests.fakes.provider_accounts import PUBLIC_KEY_PEM
from tests.recordings.conftest import WAV, record_event, transcription_event


def test_a_record_event_ends_with_the_file_in_storage_measured(vonage_call, memory_storage):
    fake, call = vonage_call
    fake.reply("GET", "/v1/files/f-1", body=WAV, headers={"Content-Type": "audio/wav"})
    record_event(call, f"{fake.url}/v1/files/f-1")
    recording = Recording.objects.get(call=call)

    assert recording_fetch(recording_id=recording.pk) is None

    recording.refresh_from_db()
    assert recording.state == MediaState.STORED
    assert (recording.format, recording.content_type) == ("wav", "audio/wav")
    assert (recording.size_bytes, recording.duration_seconds) == (len(WAV), 1.0)
    with memory_storage.open(recording.file_name) as stored:
        assert stored.read() == WAV
    assert recording.sha256 == hashlib.sha256(WAV).hexdigest()
    token = fake.requests_to("GET", "/v1/files/f-1")[0].bearer_token()
    assert jwt.decode(token, PUBLIC_KEY_PEM, algorithms=["RS256"])["application_id"]


def test_the_same_event_twice_makes_one_recording(vonage_call, memory_storage):
    fake, call = vonage_call
    record_event(call, f"{fake.url}/v1/files/f-1")
    record_event(call, f"{fake.url}/v1/files/f-1", size=1)  # a retry with another body

    assert Recording.objects.filter(call=call).count() == 1


def test_a_failed_fetch_is_retried_later_and_then_stored(vonage_call, memory_storage):
    fake, call = vonage_call
    fake.reply("GET", "/v1/files/f-1", status=503, body={"title": "Try later"})
    fake.reply("GET", "/v1/files/f-1", body=WAV, headers={"Content-Type": "audio/wav"})
    record_event(call, f"{fake.url}/v1/files/f-1")
    recording = Recording.objects.get(call=call)

    delay = recording_fetch(recording_id=recording.pk)
    recording.refresh_from_db()
    assert delay == 30 and recording.state == MediaState.PENDING
    assert "503" in recording.last_error
    # Not due yet: a second delivery of the task does nothing.
    assert recording_fetch(recording_id=recording.pk) is None
    assert len(fake.requests_to("GET", "/v1/files/f-1")) == 1

    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        recording_fetch(recording_id=recording.pk)
    recording.refresh_from_db()
    assert (recording.state, recording.attempts, recording.last_error) == (MediaState.STORED, 2, "")


def test_a_recording_that_never_comes_is_given_up_with_the_reason(vonage_call, memory_storage):
    fake, call = vonage_call
    fake.reply("GET", "/v1/files/f-1", status=500, body={"title": "Broken"}, times=MAX_ATTEMPTS)
    record_event(call, f"{fake.url}/v1/files/f-1")
    recording = Recording.objects.get(call=call)

    at = timezone.now()
    for _ in range(MAX_ATTEMPTS):
        with time_machine.travel(at):
            delay = recording_fetch(recording_id=recording.pk)
        at += timedelta(seconds=(delay or 0) + 1)

    recording.refresh_from_db()
    assert recording.state == MediaState.FAILED and delay is None
    assert "Broken" in recording.last_error


def test_what_a_killed_fetch_left_is_replaced_not_kept_beside(vonage_call, memory_storage):
    fake, call = vonage_call
    fake.reply("GET", "/v1/files/f-1", body=WAV, headers={"Content-Type": "audio/wav"})
    record_event(call, f"{fake.url}/v1/files/f-1")
    recording = Recording.objects.get(call=call)
    # A worker was killed after writing half the file and before marking the row stored:
    # its lease is still on the row.
    memory_storage.save(storage_name(recording, "wav"), ContentFile(WAV[:100]))
    Recording.objects.filter(pk=recording.pk).update(
        lease_until=timezone.now() + timedelta(minutes=10), attempts=1
    )

    assert recording_fetch(recording_id=recording.pk) is None  # its lease still holds
    assert fake.requests_to("GET", "/v1/files/f-1") == []
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        recording_fetch(recording_id=recording.pk)

    recording.refresh_from_db()
    assert recording.state == MediaState.STORED
    assert memory_storage.listdir(f"call-{call.pk}")[1] == [f"recording-{recording.pk}.wav"]
    with memory_storage.open(recording.file_name) as stored:
        assert stored.read() == WAV


def test_the_providers_copy_is_deleted_after_archiving_when_asked(
    vonage_call, memory_storage, django_capture_on_commit_callbacks, monkeypatch
):
    fake, call = vonage_call
    MediaRetention.objects.create(account=call.account, delete_provider_copy=True)
    fake.reply("GET", "/v1/files/f-1", body=WAV, headers={"Content-Type": "audio/wav"})
    fake.reply("DELETE", "/v1/files/f-1", status=204)
    record_event(call, f"{fake.url}/v1/files/f-1")
    recording = Recording.objects.get(call=call)
    monkeypatch.setattr(
        tasks.recording_provider_delete, "delay", lambda pk: tasks.recording_provider_delete(pk)
    )

    with django_capture_on_commit_callbacks(execute=True):
        recording_fetch(recording_id=recording.pk)

    recording.refresh_from_db()
    assert recording.provider_deleted_at is not None
    assert fake.requests_to("DELETE", "/v1/files/f-1")[0].bearer_token()
    assert AuditEntry.objects.filter(
        action="recording.provider_delete", object_id=str(recording.pk)
    ).exists()


def test_a_transcript_is_stored_as_turns_and_tied_to_its_recording(vonage_call, memory_storage):
    fake, call = vonage_call
    fake.reply(
        "GET",
        "/v1/files/t-1",
        body={
            "channels": [
                {"transcript": [{"sentence": "Hello there", "timestamp": 0, "duration": 900}]},
                {
                    "transcript": [
                        {"sentence": "Hi, who is this?", "timestamp": 1000, "duration": 800}
                    ]
                },
            ]
        },
    )
    # The transcript's event comes first; its recording's after.
    transcription_event(call, f"{fake.url}/v1/files/t-1")
    record_event(call, f"{fake.url}/v1/files/f-1")
    transcript = Transcript.objects.get(call=call)

    transcript_fetch(transcript_id=transcript.pk)

    transcript.refresh_from_db()
    assert transcript.recording == Recording.objects.get(call=call)
    assert transcript.turns == [
        {"speaker": "Channel 1", "start": 0.0, "end": 0.9, "text": "Hello there"},
        {"speaker": "Channel 2", "start": 1.0, "end": 1.8, "text": "Hi, who is this?"},
    ]
    assert "who is this" in transcript.text
