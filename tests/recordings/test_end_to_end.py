"""The sandbox end to end: a call whose flow records with transcription, placed through the
API, played by the emulator, its events applied, fetched by a real worker, ends with a file
that plays from the call page and a transcript beside it."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from calls.models import Call
from calls.services.retention import retention_apply
from portal.services import SYSTEM
from recordings.models import MediaState, Recording, Transcript
from tests.helpers import wait_for
from voiceapps.models import Application
from voiceapps.ncco.services import ncco_document_create
from voiceapps.sandbox.services import sandbox_first_run

pytestmark = pytest.mark.django_db(transaction=True)

RECORDED_FLOW = [
    {"action": "record", "transcription": {}},
    {"action": "talk", "text": "Your parcel arrives on Tuesday."},
]


def place_recorded_call(api, application) -> Call:
    response = api.post(
        "/api/v1/calls",
        {
            "application": application.pk,
            "from_number": "+447700900100",
            "to": {"type": "phone", "number": "+447700900000"},
            "flow": {"type": "ncco", "ncco": RECORDED_FLOW},
        },
        format="json",
    )
    assert response.status_code == 202, response.json()
    return Call.objects.get(pk=response.json()["id"])


def place_recorded_jambonz_call(api, demo) -> Call:
    """A call of the jambonz sandbox's demo application, its hosted flow now RECORDED_FLOW
    (Voice Gateway runs only hosted flows)."""
    recorded = ncco_document_create(actor=SYSTEM, name="Recorded", content=RECORDED_FLOW)
    Application.objects.filter(pk=demo.jambonz_application.pk).update(
        ncco_document=recorded.version.document
    )
    response = api.post(
        "/api/v1/calls",
        {
            "application": demo.jambonz_application.pk,
            "from_number": "+447700900100",
            "to": {"type": "phone", "number": "+447700900000"},
        },
        format="json",
    )
    assert response.status_code == 202, response.json()
    return Call.objects.get(pk=response.json()["id"])


def test_a_recorded_sandbox_call_ends_with_a_playable_file_and_a_transcript(
    live_callboard, api_for, operator_user, client_for
):
    demo = sandbox_first_run()
    call = place_recorded_call(api_for(operator_user), demo.application)

    def stored():
        recording = Recording.objects.filter(call=call).first()
        transcript = Transcript.objects.filter(call=call).first()
        done = recording and transcript and recording.state == transcript.state == "stored"
        return (recording, transcript) if done else None

    try:
        recording, transcript = wait_for(stored, timeout=60, interval=0.3)
    except TimeoutError:
        raise AssertionError(
            f"recordings {list(Recording.objects.values())}; worker log:\n"
            f"{live_callboard.worker.log()[-4000:]}"
        ) from None

    assert (recording.format, recording.duration_seconds) == ("wav", 1.0)
    assert transcript.recording == recording
    assert [turn["speaker"] for turn in transcript.turns] == ["Channel 1", "Channel 2"]
    client = client_for(operator_user)
    page = client.get(reverse("call_detail", args=[call.pk])).content.decode()
    assert "Hello, this is the sandbox calling." in page
    link = re.search(r'<audio controls preload="metadata" src="([^"]+)"', page).group(1)
    audio = client.get(link.replace("&amp;", "&"))
    assert audio.status_code == 200
    assert b"".join(audio.streaming_content)[:4] == b"RIFF"
    assert Recording.objects.get(pk=recording.pk).state == MediaState.STORED


def test_through_the_api_alone_a_recorded_call_is_played_and_then_expires_on_schedule(
    live_callboard, api_for, operator_user, admin_user
):
    """The "done when" of issue 21 through the API: place, list, read, download, set the
    account's retention, and watch the hourly run expire the transcript, then the recording."""
    demo = sandbox_first_run()
    api, admin = api_for(operator_user), api_for(admin_user)
    call = place_recorded_call(api, demo.application)

    def listed():
        rows = api.get("/api/v1/recordings", {"account": call.account_id}).json()["results"]
        done = rows and rows[0]["state"] == "stored"
        done = done and [t["state"] for t in rows[0]["transcripts"]] == ["stored"]
        return rows[0] if done else None

    try:
        recording = wait_for(listed, timeout=60, interval=0.3)
    except TimeoutError:
        raise AssertionError(live_callboard.worker.log()[-4000:]) from None
    assert recording["call"] == call.pk and recording["duration_seconds"] == 1.0
    transcript = recording["transcripts"][0]
    assert transcript["turns"][0]["text"] == "Hello, this is the sandbox calling."
    audio = api.get(recording["download_url"])
    assert audio.status_code == 200 and b"".join(audio.streaming_content)[:4] == b"RIFF"

    retention = f"/api/v1/recordings/retention/{call.account_id}"
    assert api.patch(retention, {"transcript_days": 1}, format="json").status_code == 403
    changed = admin.patch(retention, {"recording_days": 2, "transcript_days": 1}, format="json")
    assert changed.status_code == 200, changed.json()

    created = Call.objects.get(pk=call.pk).created_at
    with time_machine.travel(created + timedelta(days=1, hours=1), tick=False):
        retention_apply()
    after_a_day = api.get(recording["url"]).json()
    assert after_a_day["state"] == "stored"
    assert after_a_day["transcripts"][0]["state"] == "deleted"
    assert after_a_day["transcripts"][0]["turns"] == []

    with time_machine.travel(created + timedelta(days=2, hours=1), tick=False):
        retention_apply()
    after_two = api.get(recording["url"]).json()
    assert (after_two["state"], after_two["download_url"]) == ("deleted", None)
    assert after_two["deleted_reason"] == "Deleted by its account's retention policy"
    assert api.get(recording["download_url"]).status_code == 404
    audit = admin.get("/api/v1/audit", {"action": "recording.expire"}).json()["results"]
    assert [entry["changes"]["recordings"] for entry in audit] == [1, 0]


def test_a_recorded_call_on_the_jambonz_sandbox_plays_beside_its_hooked_transcript(
    live_callboard, api_for, operator_user, client_for
):
    """Voice Gateway names no recording in its events: the ended call's recording is looked
    for where jambonz-api-server keeps it, and plays from the call page beside the
    transcript its transcriptionHook sent as the call went."""
    call = place_recorded_jambonz_call(api_for(operator_user), sandbox_first_run())

    def stored():
        recording = Recording.objects.filter(call=call, state=MediaState.STORED).first()
        return recording if recording and recording.transcripts.exists() else None

    try:
        recording = wait_for(stored, timeout=60, interval=0.3)
    except TimeoutError:
        raise AssertionError(
            f"{list(Recording.objects.values())}\n{live_callboard.worker.log()[-4000:]}"
        ) from None
    call.refresh_from_db()
    assert recording.provider_url.endswith(
        f"/RecentCalls/{call.provider_call_id}/record/{call.answered_at:%Y/%m/%d}"
    )
    assert (recording.format, recording.duration_seconds) == ("wav", 1.0)
    transcript = recording.transcripts.get()
    assert [(t["speaker"], t["text"]) for t in transcript.turns] == [
        ("Channel 1", "Hello, this is the sandbox calling."),
        ("Channel 2", "Thanks, I can hear you."),
    ]
    client = client_for(operator_user)
    page = client.get(reverse("call_detail", args=[call.pk])).content.decode()
    assert "Thanks, I can hear you." in page
    link = re.search(r'<audio controls preload="metadata" src="([^"]+)"', page).group(1)
    assert client.get(link.replace("&amp;", "&")).status_code == 200
