"""The recordings API: list by the call log's filters, metadata with transcripts, audio with
ranges, delete by admins; account-limited tokens see their accounts' recordings only."""

from django.urls import reverse
from rest_framework.test import APIClient

from calls.filters import CallFilter
from portal.models import AuditEntry
from portal.services import SYSTEM, api_token_create
from recordings.models import MediaState
from tests.factories import CallFactory, ProviderAccountFactory, RecordingFactory
from tests.recordings.conftest import WAV


def test_list_and_metadata_carry_the_facts_and_the_transcript(
    stored_recording, api_for, viewer_user
):
    RecordingFactory(call=CallFactory(status="busy"))  # another call's, still pending
    api = api_for(viewer_user)

    listed = api.get(reverse("api_recordings"), {"status": "completed"}).json()
    detail = api.get(reverse("api_recording", args=[stored_recording.pk])).json()

    assert [r["id"] for r in listed["results"]] == [stored_recording.pk]
    assert detail["state"] == "stored" and detail["duration_seconds"] == 1.0
    assert (detail["format"], detail["size_bytes"]) == ("wav", len(WAV))
    assert detail["transcripts"][0]["turns"][0]["text"] == "Your parcel arrives on Tuesday"
    assert detail["download_url"].endswith(f"/api/v1/recordings/{stored_recording.pk}/audio")


def test_a_bad_filter_is_a_400_naming_it(api_for, viewer_user, db):
    response = api_for(viewer_user).get(reverse("api_recordings"), {"since": "yesterday"})
    assert response.status_code == 400
    assert "since" in response.json()["fields"]


def test_download_answers_ranges(stored_recording, api_for, operator_user):
    api = api_for(operator_user)
    url = reverse("api_recording_download", args=[stored_recording.pk])

    whole = api.get(url, HTTP_ACCEPT="audio/*")
    part = api.get(url, HTTP_RANGE="bytes=0-43")

    assert whole.status_code == 200 and b"".join(whole.streaming_content) == WAV
    assert whole["Content-Disposition"].startswith("attachment")
    assert part.status_code == 206 and b"".join(part.streaming_content) == WAV[:44]


def test_only_admins_delete_and_the_audio_is_gone_after(
    stored_recording, api_for, operator_user, admin_user
):
    url = reverse("api_recording", args=[stored_recording.pk])
    assert api_for(operator_user).delete(url).status_code == 403

    assert api_for(admin_user).delete(url).status_code == 204

    stored_recording.refresh_from_db()
    assert stored_recording.state == MediaState.DELETED
    assert AuditEntry.objects.filter(action="recording.delete").count() == 1
    audio = api_for(admin_user).get(reverse("api_recording_download", args=[stored_recording.pk]))
    assert audio.status_code == 404


def test_a_token_limited_to_other_accounts_sees_no_recording(
    stored_recording, operator_user, api_for
):
    _, raw = api_token_create(
        actor=SYSTEM, user=operator_user, name="other", accounts=[ProviderAccountFactory()]
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert api.get(reverse("api_recordings")).json()["results"] == []
    assert api.get(reverse("api_recording", args=[stored_recording.pk])).status_code == 404
    assert api.get(reverse("api_recording_download", args=[stored_recording.pk])).status_code == 404
    assert api_for(None).get(reverse("api_recordings")).status_code == 401


def test_an_admin_sets_an_accounts_retention_a_field_at_a_time_audited(api_for, admin_user):
    account = ProviderAccountFactory()
    api = api_for(admin_user)
    url = reverse("api_recording_retention", args=[account.pk])
    assert api.get(url).json()["recording_days"] is None  # nothing set: kept forever

    api.patch(url, {"recording_days": 30, "delete_provider_copy": True}, format="json")
    changed = api.patch(url, {"transcript_days": 90}, format="json").json()

    assert (changed["recording_days"], changed["transcript_days"]) == (30, 90)
    assert changed["delete_provider_copy"] is True
    entries = AuditEntry.objects.filter(action="recording_retention.update")
    assert [entry.changes for entry in entries.order_by("pk")][-1] == {
        "transcript_days": [None, 90]
    }
    assert api.patch(url, {"recording_day": 3}, format="json").status_code == 400


def test_a_token_limited_to_other_accounts_cannot_read_or_set_its_retention(admin_user):
    account = ProviderAccountFactory()
    _, raw = api_token_create(
        actor=SYSTEM, user=admin_user, name="other", accounts=[ProviderAccountFactory()]
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    url = reverse("api_recording_retention", args=[account.pk])

    assert api.get(url).status_code == 404
    assert api.patch(url, {"recording_days": 1}, format="json").status_code == 404


def test_the_schema_lists_the_call_log_filters_the_list_takes(client, db):
    # They were only named in its description: a client generated from the document had no
    # way to send `status` or `tag`, and the list's page size was all it could set.
    schema = client.get(reverse("api_schema"), {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/recordings"]["get"]

    names = {parameter["name"] for parameter in operation["parameters"]}

    assert names >= set(CallFilter.base_filters)


def test_a_calls_recordings_are_listed_by_the_address_on_the_call(
    stored_recording, api_for, viewer_user
):
    """A tool had a call and no way to its recordings: the forwarded event's `recording_url`
    is the provider's file, and the recordings list took only the call log's filters."""
    call = stored_recording.call
    second = RecordingFactory(call=call)
    RecordingFactory(call=CallFactory(status="completed"))  # another call's
    api = api_for(viewer_user)

    address = api.get(reverse("api_call", args=[call.pk])).json()["recordings"]
    listed = api.get(address).json()["results"]

    assert address == f"http://testserver/api/v1/recordings?call={call.pk}"
    assert [row["id"] for row in listed] == [second.pk, stored_recording.pk]
    assert api.get(reverse("api_recordings"), {"call": "x"}).json()["fields"] == {
        "call": ["Enter an id: a whole number from 1 to 9223372036854775807."]}


def test_the_call_log_does_not_take_the_recordings_call_filter(api_for, viewer_user, db):
    api = api_for(viewer_user)
    for name in ("api_calls", "api_call_export"):
        refused = api.get(reverse(name), {"call": "1"})
        assert refused.status_code == 400 and refused.json()["fields"] == {
            "call": ["Unknown parameter."]}, name


def test_the_schema_documents_the_recordings_call_filter_and_the_calls_address(client, db):
    schema = client.get(reverse("api_schema"), {"format": "json"}).json()
    parameters = {parameter["name"]: parameter
                  for parameter in schema["paths"]["/api/v1/recordings"]["get"]["parameters"]}
    calls = {parameter["name"]
             for parameter in schema["paths"]["/api/v1/calls"]["get"]["parameters"]}

    assert parameters["call"]["schema"]["type"] == "integer"
    assert "call" not in calls
    recordings = schema["components"]["schemas"]["Call"]["properties"]["recordings"]
    assert recordings["format"] == "uri" and "call" in recordings["description"]
