"""Each account's recordings and transcripts expire on its schedule, in the hourly run."""

from datetime import UTC, datetime, timedelta

import time_machine
from django.core.files.base import ContentFile
from django.urls import reverse

from calls.models import Call
from calls.services.retention import retention_apply
from portal.models import AuditEntry
from recordings.models import MediaRetention, MediaState, Recording, Transcript
from tests.factories import (
    CallFactory,
    MediaRetentionFactory,
    ProviderAccountFactory,
    RecordingFactory,
    TranscriptFactory,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def media_of_call(account, storage, age: timedelta) -> tuple[Recording, Transcript]:
    call = CallFactory(account=account, status="completed")
    Call.objects.filter(pk=call.pk).update(created_at=NOW - age)
    name = storage.save(f"call-{call.pk}/recording.wav", ContentFile(b"RIFF...."))
    recording = RecordingFactory(call=call, state="stored", file_name=name)
    transcript = TranscriptFactory(
        call=call,
        recording=recording,
        state="stored",
        turns=[{"speaker": "Channel 1", "start": 0, "end": 1, "text": "hello"}],
        text="hello",
    )
    return recording, transcript


def test_recordings_and_transcripts_expire_each_on_their_own_day(
    memory_storage, django_capture_on_commit_callbacks, db
):
    account = ProviderAccountFactory()
    MediaRetentionFactory(account=account, recording_days=30, transcript_days=90)
    kept_account = ProviderAccountFactory()  # no retention set: keeps everything
    old_rec, old_tr = media_of_call(account, memory_storage, timedelta(days=31))
    ancient_rec, ancient_tr = media_of_call(account, memory_storage, timedelta(days=91))
    new_rec, new_tr = media_of_call(account, memory_storage, timedelta(days=29))
    other_rec, _ = media_of_call(kept_account, memory_storage, timedelta(days=400))

    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        summary = retention_apply()

    assert (summary["recordings_deleted"], summary["transcripts_deleted"]) == (2, 1)
    states = {
        item: type(item).objects.get(pk=item.pk).state
        for item in (old_rec, old_tr, ancient_rec, ancient_tr, new_rec, new_tr, other_rec)
    }
    assert [states[i] for i in (old_rec, ancient_rec, ancient_tr)] == [MediaState.DELETED] * 3
    assert [states[i] for i in (old_tr, new_rec, new_tr, other_rec)] == [MediaState.STORED] * 4
    assert not memory_storage.exists(old_rec.file_name)
    assert memory_storage.exists(new_rec.file_name) and memory_storage.exists(other_rec.file_name)
    assert Transcript.objects.get(pk=ancient_tr.pk).text == ""
    entry = AuditEntry.objects.get(action="recording.expire")
    assert entry.object_id == str(account.pk)
    assert entry.changes["recordings"] == 2 and entry.changes["transcripts"] == 1

    # The next hour finds nothing more to do, and says so.
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        assert retention_apply()["recordings_deleted"] == 0
    assert AuditEntry.objects.filter(action="recording.expire").count() == 1


def test_an_admin_sets_an_accounts_retention_and_it_is_audited(
    client_for, admin_user, operator_user
):
    account = ProviderAccountFactory(name="Main")
    url = reverse("recording_retention_edit", args=[account.pk])
    assert client_for(operator_user).get(url).status_code == 403

    admin = client_for(admin_user)
    assert "Main" in admin.get(reverse("recording_retention")).content.decode()
    refused = admin.post(url, {"recording_days": "-3", "transcript_days": ""})
    assert refused.status_code == 200 and "recording_days" in refused.content.decode()
    response = admin.post(
        url, {"recording_days": "30", "transcript_days": "", "delete_provider_copy": "on"}
    )

    assert response.status_code == 302
    policy = MediaRetention.objects.get(account=account)
    assert (policy.recording_days, policy.transcript_days, policy.delete_provider_copy) == (
        30,
        None,
        True,
    )
    entry = AuditEntry.objects.get(action="recording_retention.update")
    assert entry.changes["recording_days"] == [None, 30]
    assert "30 days" in admin.get(reverse("recording_retention")).content.decode()


def test_retention_without_any_account_offers_to_add_one(client_for, admin_user):
    """Its button read "Accounts" and opened the list: a newcomer had to find the way on."""
    page = client_for(admin_user).get(reverse("recording_retention")).content.decode()

    assert "No accounts yet" in page
    add = reverse("account_create")
    assert f'<a class="button primary" href="{add}">Add an account</a>' in page
