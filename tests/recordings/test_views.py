"""The call page plays a recording through short-lived links bound to the user, answers
range requests, and lets only admins delete it; the recordings list takes the log's filters."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from portal.models import AuditEntry
from recordings.models import MediaState
from tests.factories import CallFactory, RecordingFactory
from tests.recordings.conftest import WAV


def play_link(client, recording) -> str:
    page = client.get(reverse("call_detail", args=[recording.call_id])).content.decode()
    found = re.search(r'<audio controls preload="metadata" src="([^"]+)"', page)
    assert found, "the call page has no player"
    return found.group(1).replace("&amp;", "&")


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_the_call_page_plays_the_recording_beside_its_transcript(
    stored_recording, client_for, viewer_user
):
    client = client_for(viewer_user)
    page = client.get(reverse("call_detail", args=[stored_recording.call_id])).content.decode()
    assert "Your parcel arrives on Tuesday" in page
    assert "Delete recording" not in page  # viewers play, admins delete

    response = client.get(play_link(client, stored_recording))

    assert response.status_code == 200
    assert body(response) == WAV
    assert response["Content-Type"] == "audio/wav"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Disposition"].startswith("inline")


@pytest.mark.parametrize(
    ("header", "status", "expected", "content_range"),
    [
        ("bytes=44-99", 206, WAV[44:100], f"bytes 44-99/{len(WAV)}"),
        ("bytes=16000-", 206, WAV[16000:], f"bytes 16000-{len(WAV) - 1}/{len(WAV)}"),
        ("bytes=-4", 206, WAV[-4:], f"bytes {len(WAV) - 4}-{len(WAV) - 1}/{len(WAV)}"),
        ("bytes=0-999999", 206, WAV, f"bytes 0-{len(WAV) - 1}/{len(WAV)}"),
        (f"bytes={len(WAV)}-", 416, b"", f"bytes */{len(WAV)}"),
        ("bytes=0-1,5-6", 200, WAV, None),  # several ranges: the whole file, as RFC 9110 allows
        # A position past 19 digits is no range a file has; int() refuses 4,300 digits.
        ("bytes=" + "9" * 5000 + "-", 200, WAV, None),
        ("bytes=-" + "9" * 5000, 200, WAV, None),
        ("bytes=\u00b2-", 200, WAV, None),  # "²" is a digit to str.isdigit, not to int()
    ],
)
def test_seeking_asks_for_a_range_and_gets_exactly_it(
    stored_recording, client_for, operator_user, header, status, expected, content_range
):
    client = client_for(operator_user)
    response = client.get(play_link(client, stored_recording), HTTP_RANGE=header)

    assert response.status_code == status
    got = body(response) if response.streaming else response.content
    assert got == expected
    assert response.get("Content-Range") == content_range


def test_a_link_works_for_its_user_only_and_only_for_a_few_minutes(
    stored_recording, client_for, operator_user, admin_user, settings
):
    client = client_for(operator_user)
    link = play_link(client, stored_recording)

    assert client_for(admin_user).get(link).status_code == 404  # someone else's link
    client = client_for(operator_user)
    other = reverse("recording_audio", args=[stored_recording.pk + 1]) + "?" + link.split("?")[1]
    assert client.get(other).status_code == 404  # another recording
    with time_machine.travel(
        timezone.now() + timedelta(seconds=settings.RECORDINGS_LINK_SECONDS + 5)
    ):
        expired = client.get(link)
    assert expired.status_code == 404
    assert b"expired" in expired.content
    assert client.get(link).status_code == 200


def test_an_expired_download_link_is_a_page_that_leads_back_to_the_call(
    stored_recording, client_for, operator_user, settings
):
    """A Download pressed after a few minutes opened a bare line of text, no way out."""
    client = client_for(operator_user)
    link = play_link(client, stored_recording) + "&download=1"
    with time_machine.travel(
        timezone.now() + timedelta(seconds=settings.RECORDINGS_LINK_SECONDS + 5)
    ):
        expired = client.get(link)
    page = expired.content.decode()
    assert expired.status_code == 404 and expired["Content-Type"].startswith("text/html")
    assert "<title>Recording link expired" in page
    call_page = reverse("call_detail", args=[stored_recording.call_id])
    assert f'href="{call_page}">Open call {stored_recording.call_id}</a>' in page


def test_without_a_role_or_signed_out_there_is_no_recording(
    stored_recording, client_for, operator_user, outsider_user
):
    link = play_link(client_for(operator_user), stored_recording)

    assert client_for(outsider_user).get(link).status_code == 403
    signed_out = client_for(None).get(link)
    assert signed_out.status_code == 302 and "/login/" in signed_out["Location"]


def test_only_an_admin_deletes_a_recording_and_it_is_audited(
    stored_recording,
    client_for,
    operator_user,
    admin_user,
    memory_storage,
    django_capture_on_commit_callbacks,
):
    url = reverse("recording_delete", args=[stored_recording.pk])
    assert client_for(operator_user).post(url).status_code == 403

    admin = client_for(admin_user)
    assert (
        "Delete recording"
        in admin.get(reverse("call_detail", args=[stored_recording.call_id])).content.decode()
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(url)

    assert response.status_code == 302
    stored_recording.refresh_from_db()
    assert stored_recording.state == MediaState.DELETED and stored_recording.file_name == ""
    assert not memory_storage.exists(f"call-{stored_recording.call_id}/r.wav")
    transcript = stored_recording.transcripts.get()
    assert (transcript.state, transcript.text, transcript.turns) == (MediaState.DELETED, "", [])
    entry = AuditEntry.objects.get(action="recording.delete")
    assert entry.actor == admin_user and entry.object_id == str(stored_recording.pk)
    page = admin.get(reverse("call_detail", args=[stored_recording.call_id])).content.decode()
    # One plain line: it read "Recording deleted 2026-… UTC: Deleted by admin."
    assert re.search(r'<p class="muted">Deleted by admin \(\d{4}-\d\d-\d\d [\d:]+ UTC\)\.</p>',
                     page)
    assert "<audio" not in page


def test_the_list_and_the_call_log_find_calls_by_their_transcript(
    stored_recording, client_for, viewer_user
):
    client = client_for(viewer_user)
    found = client.get(reverse("recording_list"), {"transcript": "parcel"}).content.decode()
    missed = client.get(reverse("recording_list"), {"transcript": "invoice"}).content.decode()
    log = client.get(reverse("call_list"), {"transcript": "PARCEL"}).content.decode()

    call_link = reverse("call_detail", args=[stored_recording.call_id])
    assert call_link in found and "Your parcel arrives" in found
    assert call_link not in missed and "No recording belongs to a call" in missed
    assert call_link in log


def test_the_list_plays_and_downloads_each_stored_recording(
    stored_recording, client_for, viewer_user
):
    """Every recording meant a trip to its call's page and back, as Twilio's list does not."""

    RecordingFactory(call=CallFactory())  # still being fetched: nothing to play yet
    client = client_for(viewer_user)
    page = client.get(reverse("recording_list")).content.decode()

    players = re.findall(r'<audio controls preload="none" src="([^"]+)"', page)
    downloads = re.findall(r'<a href="([^"]+)" download>Download<span', page)
    assert len(players) == len(downloads) == 1
    played = client.get(players[0].replace("&amp;", "&"))
    assert played.status_code == 200 and body(played) == WAV
    saved = client.get(downloads[0].replace("&amp;", "&"))
    assert saved["Content-Disposition"].startswith("attachment")


def test_each_player_in_the_list_is_named_by_its_call_callee_and_time_not_its_id(
    stored_recording, client_for, viewer_user
):
    """A screen reader announced "Recording 12, of call 5": 12 is an id no page shows."""
    Recording = type(stored_recording)
    Recording.objects.filter(pk=stored_recording.pk).update(
        created_at=timezone.make_aware(datetime(2026, 12, 6, 1, 31), UTC))
    page = client_for(viewer_user).get(reverse("recording_list")).content.decode()

    name = (f"ecording 1 of call {stored_recording.call_id} to +31 6 12345678, "
            "2026-12-06 01:31:00 UTC")
    assert f'aria-label="R{name}"' in page
    assert f'Download<span class="visually-hidden"> r{name}</span>' in page
    assert f"Recording {stored_recording.pk}," not in page


def test_an_empty_recordings_list_says_how_to_record(client_for, operator_user):
    page = client_for(operator_user).get(reverse("recording_list")).content.decode()
    assert "No recordings yet" in page and "record" in page


def test_the_list_folds_the_call_logs_filters_and_shows_each_one_on_as_a_chip(
    stored_recording, client_for, viewer_user
):
    other = RecordingFactory(call=CallFactory(status="failed"))
    client = client_for(viewer_user)

    page = client.get(reverse("recording_list"), {"status": "completed"}).content.decode()
    call_log = client.get(reverse("call_list")).content.decode()

    assert '<details class="filterbox">' in page and "1 result" in page
    chip = re.search(r'<li class="chip">(.*?)</li>', page, re.S).group(1)
    assert "Completed" in chip and 'aria-label="Remove the filter Status"' in chip
    assert reverse("call_detail", args=[stored_recording.call_id]) in page
    assert reverse("call_detail", args=[other.call_id]) not in page
    fields = set(re.findall(r'<(?:input|select)[^>]* name="([^"]+)"', page))
    # The call log's, and the recordings' own `call` (which the call log does not take).
    assert fields == set(re.findall(r'<(?:input|select)[^>]* name="([^"]+)"', call_log)) | {"call"}


def test_the_recordings_page_takes_the_call_filter_its_api_takes(
    stored_recording, client_for, viewer_user
):
    other = RecordingFactory(call=CallFactory(status="completed"))
    client = client_for(viewer_user)

    page = client.get(reverse("recording_list"), {"call": other.call_id}).content.decode()
    log = client.get(reverse("call_list")).content.decode()

    assert reverse("call_detail", args=[other.call_id]) in page
    assert reverse("call_detail", args=[stored_recording.call_id]) not in page
    assert 'name="call"' in page and 'name="call"' not in log
