"""The call's timeline never links the provider's file URLs (they need the provider's
credentials and fail in a browser): a stored recording is linked through Callboard's signed
playback, anything else says what became of it."""

import re

from django.core.files.base import ContentFile
from django.urls import reverse

from recordings.models import MediaState, Recording
from tests.recordings.conftest import WAV, record_event, transcription_event

PROVIDER_FILE = "https://api.nexmo.com/v1/files/f-1"


def timeline(client, call) -> str:
    page = client.get(reverse("call_detail", args=[call.pk])).content.decode()
    return page[page.index('id="timeline"') :]


def test_a_stored_recording_is_linked_through_callboard_not_the_provider(
    vonage_call, memory_storage, client_for, viewer_user
):
    _, call = vonage_call
    record_event(call, PROVIDER_FILE)
    recording = Recording.objects.get(call=call)
    name = memory_storage.save(f"call-{call.pk}/r.wav", ContentFile(WAV))
    Recording.objects.filter(pk=recording.pk).update(
        state=MediaState.STORED, file_name=name, size_bytes=len(WAV), content_type="audio/wav"
    )
    client = client_for(viewer_user)

    shown = timeline(client, call)

    assert PROVIDER_FILE not in re.findall(r'href="([^"]+)"', shown)
    link = re.search(r'Recording:\s*<a href="([^"]+)">play Callboard', shown).group(1)
    audio = client.get(link.replace("&amp;", "&"))
    assert audio.status_code == 200
    assert b"".join(audio.streaming_content) == WAV


def test_files_not_stored_are_named_in_words_without_a_link(
    vonage_call, memory_storage, client_for, viewer_user
):
    _, call = vonage_call
    record_event(call, PROVIDER_FILE)
    transcription_event(call, "https://api.nexmo.com/v1/files/t-1")
    Recording.objects.filter(call=call).update(state=MediaState.FAILED, last_error="Gone")

    shown = timeline(client_for(viewer_user), call)

    assert "Recording:\nnot stored: it could not be fetched (Gone)" in shown
    assert "Transcript:\nfetching…" in shown
    assert "api.nexmo.com/v1/files" not in "".join(re.findall(r'href="([^"]+)"', shown))


def test_each_timeline_link_says_which_of_the_calls_recordings_it_plays(
    vonage_call, memory_storage, client_for, viewer_user
):
    """Every link read "play Callboard's copy": a screen reader's list of links could not
    tell them apart, nor match one to the players under Recording and transcript."""
    _, call = vonage_call
    record_event(call, PROVIDER_FILE, recording_uuid="rec-1")
    record_event(call, f"{PROVIDER_FILE}-2", recording_uuid="rec-2")
    name = memory_storage.save(f"call-{call.pk}/r.wav", ContentFile(WAV))
    Recording.objects.filter(call=call).update(
        state=MediaState.STORED, file_name=name, size_bytes=len(WAV), content_type="audio/wav"
    )

    shown = timeline(client_for(viewer_user), call)

    names = [re.sub(r"<[^>]+>", "", text) for text in re.findall(r'<a href="[^"]+">(play.*?)</a>',
                                                                  shown)]
    assert sorted(names) == [f"play Callboard's copy of recording {n} of this call"
                             for n in (1, 2)]
