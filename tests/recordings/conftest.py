from collections.abc import Callable

import pytest
from django.core.files.storage import Storage

from calls.models import Call
from calls.services.events import call_event_record
from recordings.storage import recording_storage
from tests.factories import ApplicationFactory, CallFactory, ProviderAccountFactory
from tests.fakes.provider_accounts import vonage_fake
from tests.fakes.provider_server import FakeProvider
from voiceapps.providers.vonage import parse_vonage_event

# One second of 8 kHz 16-bit mono silence, as the sandbox records.
WAV = (
    b"RIFF"
    + (36 + 16000).to_bytes(4, "little")
    + b"WAVEfmt "
    + (16).to_bytes(4, "little")
    + (1).to_bytes(2, "little")
    + (1).to_bytes(2, "little")
    + (8000).to_bytes(4, "little")
    + (16000).to_bytes(4, "little")
    + (2).to_bytes(2, "little")
    + (16).to_bytes(2, "little")
    + b"data"
    + (16000).to_bytes(4, "little")
    + bytes(16000)
)
UUID = "63f61863-4a51-4f6b-86e1-46edebcf9356"


@pytest.fixture
def memory_storage(settings) -> Storage:
    """Recordings kept in memory: the storage contract without a folder or a bucket."""
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    return recording_storage()


@pytest.fixture
def vonage_call(fake_provider, db) -> tuple[FakeProvider, Call]:
    """An answered call of a Vonage account whose API is the spec-checking fake."""
    fake = vonage_fake(fake_provider)
    account = ProviderAccountFactory(base_url=fake.url, rest_base_url=fake.url)
    call = CallFactory(
        account=account,
        application=ApplicationFactory(account=account),
        provider_call_id=UUID,
        status="answered",
    )
    return fake, call


def record_event(call: Call, url: str, recording_uuid: str = "rec-1", **extra: object):
    """A Vonage record event for the call arrives (stored and applied as the webhook does)."""
    payload = {
        "recording_url": url,
        "recording_uuid": recording_uuid,
        "size": len(WAV),
        "uuid": call.provider_call_id,
        "conversation_uuid": "CON-1",
        "timestamp": "2026-12-03T01:00:00.000Z",
        **extra,
    }
    return call_event_record(
        account=call.account, event=parse_vonage_event(payload), payload=payload
    )


def transcription_event(call: Call, url: str, recording_uuid: str = "rec-1"):
    payload = {
        "status": "transcribed",
        "type": "record",
        "recording_uuid": recording_uuid,
        "transcription_url": url,
        "uuid": call.provider_call_id,
        "conversation_uuid": "CON-1",
        "timestamp": "2026-12-03T01:00:01.000Z",
    }
    return call_event_record(
        account=call.account, event=parse_vonage_event(payload), payload=payload
    )


Fetch = Callable[..., float | None]


@pytest.fixture
def stored_recording(memory_storage, db):
    """A stored recording of a completed call, with a transcript."""
    from django.core.files.base import ContentFile

    from tests.factories import RecordingFactory, TranscriptFactory

    recording = RecordingFactory(
        call=CallFactory(status="completed"),
        state="stored",
        size_bytes=len(WAV),
        duration_seconds=1.0,
        format="wav",
        content_type="audio/wav",
        sha256="ab" * 32,
        next_attempt_at=None,
    )
    recording.file_name = memory_storage.save(f"call-{recording.call_id}/r.wav", ContentFile(WAV))
    recording.save(update_fields=["file_name"])
    TranscriptFactory(
        call=recording.call,
        recording=recording,
        state="stored",
        turns=[
            {
                "speaker": "Channel 1",
                "start": 0.0,
                "end": 0.9,
                "text": "Your parcel arrives on Tuesday",
            }
        ],
        text="Channel 1: Your parcel arrives on Tuesday",
        next_attempt_at=None,
    )
    return recording
