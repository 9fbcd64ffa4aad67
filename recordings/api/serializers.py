from __future__ import annotations

from rest_framework import serializers

from portal.api.serializers import ObjectUrlField, StrictSerializer, object_url
from recordings.models import MediaRetention, Recording, Transcript


class TranscriptSerializer(serializers.ModelSerializer):
    turns = serializers.JSONField(
        read_only=True,
        help_text='[{"speaker": "Channel 1", "start": 0.0, "end": 1.8, "text": "…"}], '
        "times in seconds from the recording's start.",
    )

    class Meta:
        model = Transcript
        fields = ["id", "state", "turns", "fetched_at", "deleted_at", "deleted_reason"]
        read_only_fields = fields


class RecordingSerializer(serializers.ModelSerializer):
    url = ObjectUrlField("api_recording", help_text="This recording in the API.")
    download_url = serializers.SerializerMethodField(
        help_text="Its audio (range requests answered); null until stored or once deleted."
    )
    call_url = ObjectUrlField("api_call", source="call_id", help_text="Its call in the API.")
    transcripts = TranscriptSerializer(many=True, read_only=True)

    class Meta:
        model = Recording
        fields = [
            "id",
            "url",
            "call",
            "call_url",
            "state",
            "format",
            "content_type",
            "size_bytes",
            "duration_seconds",
            "sha256",
            "attempts",
            "last_error",
            "created_at",
            "fetched_at",
            "provider_deleted_at",
            "deleted_at",
            "deleted_reason",
            "download_url",
            "transcripts",
        ]
        read_only_fields = fields

    def get_download_url(self, recording: Recording) -> str | None:
        if recording.state != "stored":
            return None
        return object_url(self.context, "api_recording_download", recording.pk)


class MediaRetentionSerializer(serializers.ModelSerializer):
    updated_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="null until an admin first sets it."
    )

    class Meta:
        model = MediaRetention
        fields = [
            "account",
            "recording_days",
            "transcript_days",
            "delete_provider_copy",
            "updated_at",
        ]
        read_only_fields = fields


class MediaRetentionUpdateSerializer(StrictSerializer, serializers.ModelSerializer):
    """The account's recording retention form; a field left out keeps its value, null days
    keep forever."""

    resource_shape = MediaRetentionSerializer

    class Meta:
        model = MediaRetention
        fields = ["recording_days", "transcript_days", "delete_provider_copy"]
        extra_kwargs = {name: {"required": False} for name in fields}
