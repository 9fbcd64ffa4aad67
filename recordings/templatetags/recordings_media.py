"""The call page's recordings and transcripts, drawn by this app: calls' template names the
tag, calls' Python never imports recordings."""

from __future__ import annotations

from typing import Any

from django import template

from calls.models import TERMINAL_STATUSES, Call
from portal.models import Role
from portal.templatetags.formats import moment
from recordings import selectors
from recordings.models import MediaState, Recording
from voiceapps.phone import international

register = template.Library()


def media_context(request: Any, call: Call) -> dict[str, Any]:
    recordings, loose = selectors.call_media(call=call)
    user_id = request.user.pk
    items = [
        {
            "recording": recording,
            "play_url": selectors.recording_link(recording=recording, user_id=user_id),
            "download_url": selectors.recording_link(
                recording=recording, user_id=user_id, download=True
            ),
        }
        if recording.state == MediaState.STORED
        else {"recording": recording}
        for recording in recordings
    ]
    pending = any(r.state == MediaState.PENDING for r in recordings) or (
        call.transcripts.filter(state=MediaState.PENDING).exists()
    )
    return {
        "call": call,
        "items": items,
        "loose_transcripts": loose,
        # Follow the call until it has ended and nothing is left to fetch; then stop asking.
        "follow": pending or call.status not in TERMINAL_STATUSES,
        "request": request,
        "is_admin": request.user.has_role(Role.ADMIN),
    }


@register.simple_tag(takes_context=True)
def recording_link(context: template.Context, recording: Recording, download: bool = False) -> str:
    """A stored recording's link for the signed-in user (the recordings list's player)."""
    return selectors.recording_link(
        recording=recording, user_id=context["request"].user.pk, download=download
    )


@register.inclusion_tag("recordings/_call_media.html", takes_context=True)
def call_media(context: template.Context, call: Call) -> dict[str, Any]:
    return media_context(context["request"], call)


# What the timeline calls each kind of file an event names (calls.selectors.MEDIA_KEYS).
MEDIA_LABELS = {"recording": "Recording", "transcript": "Transcript", "speech": "Speech recording"}


@register.inclusion_tag("recordings/_event_media.html", takes_context=True)
def event_media(context: template.Context, call_id: int, what: str, url: str) -> dict[str, Any]:
    """A file an event names, as the timeline shows it: a link to Callboard's copy once it is
    stored, else what became of it; never the provider's URL, which fails in a browser."""
    item = selectors.media_named(call_id=call_id, what=what, url=url)
    shown = {"label": MEDIA_LABELS.get(what, what), "what": what, "item": item, "play_url": ""}
    if isinstance(item, Recording) and item.state == MediaState.STORED:
        # Numbered as the call page's players are, so each link is told apart and matched.
        shown["play_url"] = selectors.recording_link(
            recording=item, user_id=context["request"].user.pk)
        shown["number"] = selectors.number_in_call(recording=item)
    return shown


@register.simple_tag
def recording_name(recording: Recording) -> str:
    """A row of selectors.recording_list as a person tells it apart among many calls'
    recordings: its number as its call's page shows it, the call, whom that call was to and
    when it was recorded (its id is shown nowhere)."""
    call = recording.call
    to = f" to {international(call.to_display)}" if call.to_display else ""
    return (f"recording {recording.number_in_call} of call {call.pk}{to}, "
            f"{moment(recording.created_at)}")
