"""The sandbox end to end: a call whose flow records with transcription, placed through the
API, played by the emulator, its events applied, fetched by a real worker, ends with a file
that plays from the call page and a transcript beside it."""

import re

import pytest
from django.urls import reverse

from calls.models import Call
from recordings.models import MediaState, Recording, Transcript
from tests.helpers import wait_for
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
