"""Fetching recordings and transcripts from the provider: at most one worker at a time
(a lease), retried with a growing delay, and stored under one name per recording, so a
worker killed mid-fetch leaves neither a second copy nor an orphaned file.

A kill before the row is marked stored leaves the row pending with a lease that runs out;
the every-minute sweep hands it to a worker again, which overwrites whatever the killed one
wrote under the same name before marking it stored.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import asdict
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from calls.models import Call
from recordings import tasks
from recordings.models import Fetched, MediaRetention, MediaState, Recording, Transcript
from recordings.storage import audio_facts, recording_storage
from voiceapps.adapters import account_adapter
from voiceapps.providers.base import ApplicationConfig, Provider, ProviderError

logger = logging.getLogger(__name__)

# A fetch still running after this is taken to have died with its worker.
LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 6
FIRST_RETRY = timedelta(seconds=30)  # then doubled each time: 30 s … 8 min
DUE_BATCH = 100


def due(model: type[Fetched], *, now: datetime | None = None) -> list[int]:
    """Ids of pending items whose next attempt is due and that no worker holds."""
    now = now or timezone.now()
    return list(
        model.objects.filter(state=MediaState.PENDING, next_attempt_at__lte=now)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:DUE_BATCH]
    )


def _claim(model: type[Fetched], pk: int, now: datetime) -> Fetched | None:
    """The item, leased to this worker; None if it is not due or another worker holds it."""
    claimed = (
        model.objects.filter(pk=pk, state=MediaState.PENDING, next_attempt_at__lte=now)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + LEASE, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    return model.objects.select_related("call__account", "call__application").get(pk=pk)


def media_provider(call: Call) -> tuple[Provider, ApplicationConfig]:
    adapter = account_adapter(call.account)
    if not adapter.CAN_FETCH_RECORDINGS:
        raise ProviderError(f"Callboard cannot fetch {adapter.label} recordings.")
    app = call.application.config() if call.application is not None else ApplicationConfig()
    return adapter, app


def _failed(item: Fetched, error: ProviderError | OSError, now: datetime) -> float | None:
    """Record the failure; the seconds until the next attempt, or None when given up."""
    item.last_error = (
        str(error)
        if isinstance(error, ProviderError)
        else f"The recordings storage failed: {error}"
    )[:2000]
    item.lease_until = None
    delay: float | None = None
    if item.attempts >= MAX_ATTEMPTS:
        item.state = MediaState.FAILED
        item.next_attempt_at = None
    else:
        delay = (FIRST_RETRY * 2 ** (item.attempts - 1)).total_seconds()
        delay = max(delay, getattr(error, "retry_after", None) or 0)
        item.next_attempt_at = now + timedelta(seconds=delay)
    item.save(update_fields=["last_error", "lease_until", "state", "next_attempt_at"])
    logger.warning("%s: attempt %s failed: %s", item, item.attempts, error)
    return delay


def storage_name(recording: Recording, extension: str) -> str:
    """One name per recording, whatever the attempt: a retry overwrites, never adds."""
    return f"call-{recording.call_id}/recording-{recording.pk}.{extension or 'bin'}"


def recording_fetch(*, recording_id: int, now: datetime | None = None) -> float | None:
    """Fetch and store one pending recording; the seconds until it should be tried again,
    or None (stored, given up, or not this worker's to fetch)."""
    now = now or timezone.now()
    recording = _claim(Recording, recording_id, now)
    if recording is None:
        return None
    storage = recording_storage()
    try:
        adapter, app = media_provider(recording.call)
        with tempfile.TemporaryFile() as file:
            declared = adapter.fetch_recording(
                app, recording.provider_url, into=file, max_bytes=settings.RECORDINGS_MAX_BYTES
            )
            facts = audio_facts(file, declared)
            name = storage_name(recording, facts.format)
            if storage.exists(name):
                storage.delete(name)  # what a killed attempt left
            stored = storage.save(name, File(file, name=name))
    except (ProviderError, OSError) as error:  # a full disk, an unwritable folder
        return _failed(recording, error, now)
    with transaction.atomic():
        current = Recording.objects.select_for_update().get(pk=recording.pk)
        if current.state != MediaState.PENDING:
            storage.delete(stored)  # deleted by an admin while it was being fetched
            return None
        Recording.objects.filter(pk=recording.pk).update(
            state=MediaState.STORED,
            file_name=stored,
            fetched_at=timezone.now(),
            lease_until=None,
            next_attempt_at=None,
            last_error="",
            **asdict(facts),  # size_bytes, sha256, duration_seconds, format, content_type
        )
        policy = MediaRetention.objects.filter(account_id=recording.call.account_id).first()
        if policy is not None and policy.delete_provider_copy:
            transaction.on_commit(lambda: tasks.recording_provider_delete.delay(recording.pk))
    return None


def transcript_fetch(*, transcript_id: int, now: datetime | None = None) -> float | None:
    """Fetch one pending transcript and store its turns; as recording_fetch."""
    now = now or timezone.now()
    transcript = _claim(Transcript, transcript_id, now)
    if transcript is None:
        return None
    try:
        adapter, app = media_provider(transcript.call)
        turns = adapter.fetch_transcript(app, transcript.provider_url)
    except ProviderError as error:
        return _failed(transcript, error, now)
    Transcript.objects.filter(pk=transcript.pk, state=MediaState.PENDING).update(
        state=MediaState.STORED,
        turns=[
            {"speaker": t.speaker, "start": t.start, "end": t.end, "text": t.text} for t in turns
        ],
        text="\n".join(f"{t.speaker}: {t.text}" for t in turns),
        fetched_at=timezone.now(),
        lease_until=None,
        next_attempt_at=None,
        last_error="",
    )
    return None
