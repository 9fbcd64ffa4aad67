"""Deleting recordings and transcripts: by an admin, by retention, and the provider's copy.

A deleted item keeps its row (when, why, its checksum) and loses its content: the file
leaves storage and a transcript's words are emptied."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from portal.services import SYSTEM, Actor, audit_record
from recordings.models import MediaState, Recording, Transcript
from recordings.services.fetching import media_provider
from recordings.storage import recording_storage


def _erase(
    recordings: Iterable[Recording], transcripts: Iterable[Transcript], reason: str
) -> tuple[int, int]:
    """Empty each item and mark it deleted; the files go once the marks are committed, so
    a failure between the two leaves a file to delete again, never a row without its file."""
    now = timezone.now()
    names = []
    counts = [0, 0]
    for recording in recordings:
        if recording.file_name:
            names.append(recording.file_name)
        recording.mark_deleted(at=now, reason=reason, file_name="")
        counts[0] += 1
    for transcript in transcripts:
        transcript.mark_deleted(at=now, reason=reason, turns=[], text="")
        counts[1] += 1
    storage = recording_storage()
    transaction.on_commit(lambda: [storage.delete(name) for name in names])
    return counts[0], counts[1]


@transaction.atomic
def recording_delete(*, actor: Actor, recording: Recording) -> Recording:
    """An admin deletes a call's recording and its transcripts (audited)."""
    recording = Recording.objects.select_for_update().get(pk=recording.pk)
    if recording.state == MediaState.DELETED:
        return recording
    transcripts = list(recording.transcripts.exclude(state=MediaState.DELETED))
    _erase([recording], transcripts, reason=f"Deleted by {actor.label}")
    audit_record(
        actor=actor,
        action="recording.delete",
        obj=recording,
        changes={
            "call": recording.call_id,
            "sha256": recording.sha256,
            "transcripts": [t.pk for t in transcripts],
        },
    )
    return recording


def media_erase(
    *, recordings: Iterable[Recording], transcripts: Iterable[Transcript], reason: str
) -> tuple[int, int]:
    """Retention's deletion: as an admin's, by the system, counted."""
    return _erase(recordings, transcripts, reason)


def recording_provider_delete(*, recording_id: int) -> None:
    """Delete the provider's copy of a stored recording (audited); ProviderError to retry."""
    recording = Recording.objects.select_related("call__account", "call__application").get(
        pk=recording_id
    )
    if recording.provider_deleted_at is not None:
        return
    call = recording.call
    adapter, app = media_provider(call)
    adapter.delete_recording(app, recording.provider_url)
    Recording.objects.filter(pk=recording.pk).update(provider_deleted_at=timezone.now())
    audit_record(
        actor=SYSTEM, action="recording.provider_delete", obj=recording, changes={"call": call.pk}
    )
