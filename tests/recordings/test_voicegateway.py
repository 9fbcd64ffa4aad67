"""Voice Gateway recordings: jambonz names none in its events, so a call whose served flow
started a cloud recording is looked for where jambonz-api-server serves it once the call has
ended, with the account's API key, against the spec-checking fake of jambonz."""

import io
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from calls.models import Call
from calls.services.events import call_event_record
from recordings import tasks
from recordings.models import MediaRetention, MediaState, Recording
from recordings.services.deletion import recording_provider_delete
from recordings.services.fetching import MAX_ATTEMPTS, recording_fetch
from recordings.services.intake import recording_after_call
from tests.calls.webhook_helpers import CALL_SID, vg_post, vg_status
from tests.factories import (
    VG_ACCOUNT_SID,
    AnswerRequestFactory,
    ApplicationFactory,
    CallFactory,
    ProviderAccountFactory,
)
from tests.fakes.provider_server import FakeProvider, JambonzRecordings
from tests.recordings.conftest import WAV
from voiceapps.adapters import account_adapter
from voiceapps.providers.base import ProviderError

ANSWERED = datetime(2026, 12, 3, 23, 58, tzinfo=UTC)
RECORDED_VERBS = [
    {"verb": "config", "record": {"action": "startCallRecording", "type": "cloud"}},
    {"verb": "say", "text": "Your parcel arrives on Tuesday."},
]
RECORD_PATH = f"/v1/Accounts/{VG_ACCOUNT_SID}/RecentCalls/{CALL_SID}/record/2026/12/03/wav"


@pytest.fixture
def jambonz(fake_provider, db) -> tuple[FakeProvider, JambonzRecordings]:
    fake = fake_provider("jambonz-swagger.yaml")
    return fake, JambonzRecordings(fake, VG_ACCOUNT_SID)


def answered_call(fake: FakeProvider, served: list) -> Call:
    account = ProviderAccountFactory(voicegateway=True, base_url=fake.url)
    call = CallFactory(
        account=account,
        application=ApplicationFactory(account=account),
        provider_call_id=CALL_SID,
        status="answered",
        answered_at=ANSWERED,
    )
    AnswerRequestFactory(call=call, application=call.application, response=served)
    return call


def call_ends(call: Call, status: str = "completed") -> None:
    """Voice Gateway's call_status_hook says the call ended (stored and applied)."""
    payload = vg_status(status, duration=125)
    adapter = account_adapter(call.account, webhooks_only=True)
    call_event_record(account=call.account, event=adapter.parse_event(payload), payload=payload)


def test_a_recorded_call_ends_with_jambonz_recording_fetched_with_the_api_key(
    jambonz, memory_storage
):
    fake, bucket = jambonz
    bucket.upload(CALL_SID, "2026/12/03", WAV)
    call = answered_call(fake, RECORDED_VERBS)

    call_ends(call)
    recording = Recording.objects.get(call=call)
    assert recording_fetch(recording_id=recording.pk) is None

    recording.refresh_from_db()
    assert recording.state == MediaState.STORED
    assert (recording.format, recording.duration_seconds) == ("wav", 1.0)
    with memory_storage.open(recording.file_name) as stored:
        assert stored.read() == WAV
    download = fake.requests_to("GET", RECORD_PATH)
    assert [request.bearer_token() for request in download] == [call.account.config().api_key]


def test_a_call_whose_flow_did_not_record_leaves_nothing_to_fetch(jambonz, memory_storage):
    fake, _ = jambonz
    call = answered_call(fake, [{"verb": "say", "text": "Hello"}])

    call_ends(call)

    assert not Recording.objects.filter(call=call).exists()
    assert fake.requests == []


def test_the_call_ending_twice_makes_one_recording(jambonz, memory_storage):
    fake, _ = jambonz
    call = answered_call(fake, RECORDED_VERBS)

    call_ends(call)
    call_ends(call)

    assert Recording.objects.filter(call=call).count() == 1


@pytest.mark.django_db
def test_a_vonage_call_ending_reads_nothing_for_a_recording_its_events_would_name(
    django_assert_num_queries,
):
    """Vonage names each recording in a record event: the end of its calls asks neither
    for the account nor for the flows served (two queries per ended call, applying)."""
    call = CallFactory(account=ProviderAccountFactory(), provider_call_id="leg-1",
                       status="completed", answered_at=ANSWERED)
    call = Call.objects.get(pk=call.pk)  # its account not read yet, as applying holds it

    with django_assert_num_queries(0):
        assert recording_after_call(call=call, previous_status="answered") is None


def test_a_recording_still_uploading_is_fetched_on_a_later_attempt(
    jambonz, memory_storage, time_machine
):
    fake, bucket = jambonz
    call = answered_call(fake, RECORDED_VERBS)
    call_ends(call)
    recording = Recording.objects.get(call=call)

    delay = recording_fetch(recording_id=recording.pk)
    recording.refresh_from_db()
    assert delay == 30 and recording.state == MediaState.PENDING
    assert "no recording of this call" in recording.last_error

    bucket.upload(CALL_SID, "2026/12/03", WAV)
    time_machine.move_to(recording.next_attempt_at)
    recording_fetch(recording_id=recording.pk)
    recording.refresh_from_db()
    assert recording.state == MediaState.STORED


def test_an_account_without_a_bucket_says_so_on_the_call_page(
    jambonz, memory_storage, time_machine, client_for, viewer_user
):
    fake, bucket = jambonz
    bucket.bucket = False
    call = answered_call(fake, RECORDED_VERBS)
    call_ends(call)
    recording = Recording.objects.get(call=call)

    for _ in range(MAX_ATTEMPTS):
        time_machine.move_to(recording.next_attempt_at)
        recording_fetch(recording_id=recording.pk)
        recording.refresh_from_db()

    assert recording.state == MediaState.FAILED
    assert fake.requests_to("GET", RECORD_PATH) == []  # the key never went to a 404
    page = client_for(viewer_user).get(reverse("call_detail", args=[call.pk])).content.decode()
    assert "has no recording storage (bucket) configured" in page


def test_the_providers_copy_is_deleted_with_the_api_key(jambonz, memory_storage, monkeypatch):
    fake, bucket = jambonz
    bucket.upload(CALL_SID, "2026/12/03", WAV)
    call = answered_call(fake, RECORDED_VERBS)
    MediaRetention.objects.create(account=call.account, delete_provider_copy=True)
    monkeypatch.setattr(tasks.recording_provider_delete, "delay", lambda pk: None)
    call_ends(call)
    recording = Recording.objects.get(call=call)
    recording_fetch(recording_id=recording.pk)

    recording_provider_delete(recording_id=recording.pk)

    assert bucket.files == {}
    assert fake.requests_to("DELETE", RECORD_PATH)[0].bearer_token()


def transcribed(words: str, *, channel: int = 1, final: bool = True) -> dict:
    """A transcriptionHook payload (jambonz-feature-server lib/tasks/transcribe.js)."""
    speech = {
        "language_code": "en-GB",
        "channel_tag": channel,
        "is_final": final,
        "alternatives": [{"transcript": words, "confidence": 0.91}],
    }
    return {**vg_status("in-progress"), "speech": speech}


def test_transcription_hooks_become_the_calls_transcript_beside_its_recording(
    jambonz, memory_storage, client, client_for, viewer_user
):
    fake, bucket = jambonz
    bucket.upload(CALL_SID, "2026/12/03", WAV)
    call = answered_call(fake, RECORDED_VERBS)
    hooks = [
        transcribed("Your parcel", final=False),  # interim: not a turn
        transcribed("Your parcel arrives on Tuesday."),
        transcribed("Thank you.", channel=2),
    ]
    for payload in hooks:
        assert vg_post(client, call.account, payload, hook="transcribe").status_code == 200

    call_ends(call)
    recording = Recording.objects.get(call=call)
    recording_fetch(recording_id=recording.pk)

    transcript = recording.transcripts.get()
    assert [(t["speaker"], t["text"]) for t in transcript.turns] == [
        ("Channel 1", "Your parcel arrives on Tuesday."),
        ("Channel 2", "Thank you."),
    ]
    viewer = client_for(viewer_user)
    page = viewer.get(reverse("call_detail", args=[call.pk])).content.decode()
    assert "Your parcel arrives on Tuesday." in page and "<audio" in page
    found = viewer.get(reverse("call_list"), {"transcript": "tuesday"}).content.decode()
    assert reverse("call_detail", args=[call.pk]) in found


def test_the_api_key_goes_only_to_the_accounts_own_recordings(jambonz, memory_storage):
    fake, _ = jambonz
    call = answered_call(fake, RECORDED_VERBS)
    adapter = account_adapter(call.account)
    elsewhere = f"{fake.url}/v1/Accounts/{VG_ACCOUNT_SID}/Calls/{CALL_SID}"

    with pytest.raises(ProviderError, match="does not send its API key there"):
        adapter.fetch_recording(None, elsewhere, into=io.BytesIO(), max_bytes=10**6)
    assert fake.requests == []
