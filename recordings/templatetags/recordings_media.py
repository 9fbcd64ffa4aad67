"""The call page's recordings and transcripts, drawn by this app: calls' template names the
tag, calls' Python never imports recordings."""

from __future__ import annotations

from typing import Any

from django import template

from calls.models import TERMINAL_STATUSES, Call
from portal.models import Role
from recordings import selectors
from recordings.models import MediaState

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


@register.inclusion_tag("recordings/_call_media.html", takes_context=True)
def call_media(context: template.Context, call: Call) -> dict[str, Any]:
    return media_context(context["request"], call)
