"""A recording is the provider's bytes: only audio is served as itself and inline. Bytes the
server cannot read, declared as a page by the provider, never open as one in Callboard's
origin, through the player's link or the API; and no page offers a player for them."""

import re

import pytest
from django.urls import reverse

from recordings.models import Recording
from recordings.selectors import recording_link
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

    for url in (recording_link(recording=recording, user_id=viewer_user.pk),
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

    response = client.get(recording_link(recording=recording, user_id=viewer_user.pk))

    assert response["Content-Type"] == served
    assert response["Content-Disposition"].startswith(disposition)
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_pages_offer_no_player_for_a_file_the_browser_cannot_play_only_its_download(
    vonage_call, memory_storage, client_for, viewer_user  # noqa: F811
):
    """The player was given a download and stayed silent; now the page says why."""
    recording = fetched(vonage_call, PAGE, "text/html; charset=utf-8")
    client = client_for(viewer_user)

    for page_url in (reverse("call_detail", args=[recording.call_id]),
                     reverse("recording_list")):
        page = client.get(page_url).content.decode()

        assert "<audio" not in page
        assert "cannot be played in the browser" in page
        download = re.search(r'<a href="([^"]+)" download>Download<', page).group(1)
        saved = client.get(download.replace("&amp;", "&"))
        assert saved.status_code == 200 and b"".join(saved.streaming_content) == PAGE


def test_the_pages_still_play_audio_the_browser_plays(
    vonage_call, memory_storage, client_for, viewer_user  # noqa: F811
):
    recording = fetched(vonage_call, WAV, "audio/wav")
    client = client_for(viewer_user)

    assert play_link(client, recording)
    page = client.get(reverse("recording_list")).content.decode()
    assert "<audio" in page and "cannot be played in the browser" not in page
