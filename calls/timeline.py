"""A call's story for its page: events and answer-URL requests, in the order they arrived."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from calls.models import AnswerRequest, Call, CallEvent

# Payload keys that link to a recording or a transcript, and what to call them.
MEDIA_KEYS = {"recording_url": "Recording", "transcription_url": "Transcript"}


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime  # when it reached Callboard
    event: CallEvent | None = None
    answer: AnswerRequest | None = None

    @property
    def media(self) -> list[tuple[str, str]]:
        """(label, URL) of the recordings and transcripts the event links."""
        if self.event is None or not isinstance(self.event.payload, dict):
            return []
        payload = self.event.payload
        found = [(label, payload.get(key)) for key, label in MEDIA_KEYS.items()]
        speech = payload.get("speech")
        if isinstance(speech, dict):  # input with saveAudio
            found.append(("Speech recording", speech.get("recording_url")))
        return [(label, url) for label, url in found
                if isinstance(url, str) and url.startswith("https://")]


def call_timeline(*, call: Call) -> dict[str, Any]:
    """Template context for `calls/_timeline.html`: `timeline`, oldest first."""
    events = call.events.select_related("delivery")
    answers = AnswerRequest.objects.filter(call=call).select_related("ncco_version__document")
    entries = [TimelineEntry(at=event.received_at, event=event) for event in events]
    entries += [TimelineEntry(at=answer.received_at, answer=answer) for answer in answers]
    entries.sort(key=lambda entry: entry.at)
    return {"timeline": entries}
