"""A recording is the provider's bytes: only audio is served as itself and inline. Bytes the
server cannot read, declared as a page by the provider, never open as one in Callboard's
origin, through the player's link or the API."""

import pytest
from django.urls import reverse

from recordings.models import Recording
from recordings.services.fetching import recording_fetch
from tests.recordings.conftest import (  # noqa: F401
    WAV,
    memory_storage,
    record_event,
    vonage_call,
)
from tests.recordings.test_views import play_link

PAGE = b"<html><body><script>fetch('/api/v1/tokens/')</script></body></html>"


def fetched(vonage_call, body: bytes, declared: str) -> Recording:  # noqa: F811
    fake, call = vonage_call
    fake.reply("GET", "/v1/files/f-1", body=body, headers={"Content-Type": declared})
    record_event(call, f"{fake.url}/v1/files/f-1")
    recording = Recording.objects.get(call=call)
    recording_fetch(recording_id=recording.pk)
    recording.refresh_from_db()
    return recording


def test_a_page_the_provider_declared_is_served_as_a_download_of_unknown_bytes(
    vonage_call, memory_storage, client_for, viewer_user  # noqa: F811
):
    recording = fetched(vonage_call, PAGE, "text/html; charset=utf-8")
    client = client_for(viewer_user)

    for url in (play_link(client, recording),
                reverse("api_recording_download", args=[recording.pk]) + "?inline=1"):
        response = client.get(url)

        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PAGE  # the bytes, never rendered
        assert response["Content-Type"] == "application/octet-stream"
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("body", "declared", "served", "disposition"),
    [
        (b"\x00not audio", "text/html", "application/octet-stream", "attachment;"),
        (b"\x00not audio", "image/svg+xml", "application/octet-stream", "attachment;"),
        (b"\x00not audio", "application/xml", "application/octet-stream", "attachment;"),
        (b"\x00not audio", "", "application/octet-stream", "attachment;"),
        (b"\x00not audio", "audio/mpeg", "audio/mpeg", "inline;"),  # audio the browser plays
        (WAV, "text/html", "audio/wav", "inline;"),  # the bytes say WAV: they win
    ],
)
def test_only_audio_plays_inline(vonage_call, memory_storage, client_for, viewer_user,  # noqa: F811
                                 body, declared, served, disposition):
    recording = fetched(vonage_call, body, declared)
    client = client_for(viewer_user)

    response = client.get(play_link(client, recording))

    assert response["Content-Type"] == served
    assert response["Content-Disposition"].startswith(disposition)
    assert response["X-Content-Type-Options"] == "nosniff"
