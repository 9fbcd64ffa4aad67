from django import forms

from portal.forms import ServiceErrorsMixin
from recordings.models import MediaRetention


class MediaRetentionForm(ServiceErrorsMixin, forms.ModelForm):
    class Meta:
        model = MediaRetention
        fields = ["recording_days", "transcript_days", "delete_provider_copy"]
        labels = {
            "recording_days": "Keep recordings (days)",
            "transcript_days": "Keep transcripts (days)",
            "delete_provider_copy": "Delete the provider's copy once stored here",
        }
