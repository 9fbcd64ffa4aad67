"""Recordings and transcripts of calls, fetched from the provider and kept in Callboard's
storage; and how long each account keeps them.

Dependencies point one way: recordings -> calls -> voiceapps -> portal. Calls tells this app
of a record or transcription event with the `calls.signals.call_media_reported` signal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import models
from django.db.models import Q

from calls.models import Call, CallEvent
from recordings.storage import PLAYABLE_TYPES
from voiceapps.models import ProviderAccount


class MediaState(models.TextChoices):
    PENDING = "pending", "Being fetched"
    STORED = "stored", "Stored"
    FAILED = "failed", "Could not be fetched"
    DELETED = "deleted", "Deleted"


class Fetched(models.Model):
    """What a recording and a transcript share: fetched from a URL a provider event named,
    by a worker holding a lease, retried with a growing delay until it is stored."""

    event = models.ForeignKey(
        CallEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    provider_url = models.URLField(max_length=1000)
    provider_recording_id = models.CharField(max_length=100, blank=True)  # recording_uuid
    state = models.CharField(max_length=10, choices=MediaState.choices, default=MediaState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Until then the worker that claimed it is fetching it; a killed worker's lease runs out.
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        abstract = True

    def mark_deleted(self, *, at: datetime, reason: str, **emptied: Any) -> None:
        """Keep the row (when, why, its checksum) but no content: `emptied` gives each content
        field its empty value, and no worker fetches the item again."""
        for name, value in emptied.items():
            setattr(self, name, value)
        self.state = MediaState.DELETED
        self.deleted_at, self.deleted_reason = at, reason
        self.lease_until = self.next_attempt_at = None
        self.save(update_fields=[
            "state", *emptied, "deleted_at", "deleted_reason", "lease_until", "next_attempt_at",
        ])


class Recording(Fetched):
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="recordings")
    # The file's name in the recordings storage (settings.STORAGES["recordings"]).
    file_name = models.CharField(max_length=300, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    format = models.CharField(max_length=10, blank=True)  # wav, mp3, ogg
    content_type = models.CharField(max_length=100, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    provider_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One row per file the provider named, however often its event arrives.
            models.UniqueConstraint(fields=["call", "provider_url"], name="recording_once_per_url"),
        ]
        indexes = [
            # The every-minute sweep: pending recordings whose next attempt is due.
            models.Index(
                fields=["next_attempt_at"], condition=Q(state="pending"), name="recording_due"
            ),
        ]

    def __str__(self) -> str:
        return f"Recording {self.pk} of call {self.call_id}"

    @property
    def playable(self) -> bool:
        """Served as itself for a browser's player; anything else is a download (serving.py)."""
        return self.content_type.lower() in PLAYABLE_TYPES


class Transcript(Fetched):
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="transcripts")
    recording = models.ForeignKey(
        Recording, on_delete=models.SET_NULL, null=True, blank=True, related_name="transcripts"
    )
    # [{"speaker": "Channel 1", "start": 0.0, "end": 1.8, "text": "…"}], in time order.
    turns = models.JSONField(default=list, blank=True)
    text = models.TextField(blank=True)  # the turns' words, for the call log's search

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["call", "provider_url"], name="transcript_once_per_url"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(state="pending"), name="transcript_due"
            ),
        ]

    def __str__(self) -> str:
        return f"Transcript {self.pk} of call {self.call_id}"


class MediaRetention(models.Model):
    """How long an account's recordings and transcripts are kept, and whether the
    provider's copy is deleted once Callboard has its own."""

    account = models.OneToOneField(
        ProviderAccount, on_delete=models.CASCADE, related_name="media_retention"
    )
    recording_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Delete recordings this many days after the call. Empty: keep them.",
    )
    transcript_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Delete transcripts this many days after the call. Empty: keep them.",
    )
    delete_provider_copy = models.BooleanField(
        default=False,
        help_text="Once a recording is stored here, delete it at the provider "
        "(Vonage keeps recordings for 30 days otherwise).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Recording retention of {self.account}"
