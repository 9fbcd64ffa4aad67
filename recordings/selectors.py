"""Reads of recordings: the list (through the call log's filters), one recording, a call's
media, and the short-lived links that play them."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.db.models import F, Prefetch, QuerySet, Window
from django.db.models.functions import RowNumber
from django.urls import reverse

from calls.models import Call
from recordings.models import MediaState, Recording, Transcript

LINK_SALT = "recordings.link"


# A recording's place among its call's, in call_media's order. Computed over all of a call's
# recordings, so only on a query that keeps every recording of the calls it keeps.
NUMBER_IN_CALL = Window(RowNumber(), partition_by=F("call_id"),
                        order_by=(F("created_at").asc(), F("pk").asc()))


def recording_list(*, calls: QuerySet[Call]) -> QuerySet[Recording]:
    """Recordings of `calls` (the call log's filters applied to them), newest first, each
    with all its transcripts and its number_in_call: one expired or still being fetched says
    so by its state."""
    return (
        Recording.objects.filter(call__in=calls.values("pk"))
        .annotate(number_in_call=NUMBER_IN_CALL)
        .select_related("call__account", "call__application")
        .prefetch_related("transcripts")
    )


def _stored_transcripts() -> QuerySet[Transcript]:
    return Transcript.objects.filter(state=MediaState.STORED)


def call_media(*, call: Call) -> tuple[list[Recording], list[Transcript]]:
    """A call's recordings and the transcripts not tied to one of them, oldest first."""
    recordings = list(
        call.recordings.order_by("created_at", "pk").prefetch_related(
            Prefetch("transcripts", queryset=_stored_transcripts())
        )
    )
    loose = list(_stored_transcripts().filter(call=call, recording=None))
    return recordings, loose


def number_in_call(*, recording: Recording) -> int:
    """The recording's place among its call's ("Recording 2 of this call")."""
    numbers = Recording.objects.filter(call_id=recording.call_id).annotate(
        number_in_call=NUMBER_IN_CALL)
    return dict(numbers.values_list("pk", "number_in_call"))[recording.pk]


def media_named(*, call_id: int, what: str, url: str) -> Recording | Transcript | None:
    """Callboard's copy of the recording or transcript at the provider's `url`, if it has
    noted one; None for anything else (an input's saved speech is never fetched)."""
    model = {"recording": Recording, "transcript": Transcript}.get(what)
    if model is None:
        return None
    return model.objects.filter(call_id=call_id, provider_url=url[:1000]).first()


def recording_link(*, recording: Recording, user_id: int, download: bool = False) -> str:
    """A URL that plays (or downloads) the recording for this user only, for
    RECORDINGS_LINK_SECONDS; the view still checks the user's session and role."""
    token = signing.dumps({"r": recording.pk, "u": user_id}, salt=LINK_SALT, compress=True)
    url = reverse("recording_audio", args=[recording.pk]) + f"?t={token}"
    return url + "&download=1" if download else url


def recording_call_id(*, pk: int) -> int | None:
    return Recording.objects.filter(pk=pk).values_list("call_id", flat=True).first()


def recording_by_link(*, pk: int, token: str, user_id: int) -> Recording | None:
    """The stored recording a link names, if the link is this user's, for this recording,
    and not expired; else None."""
    try:
        claims = signing.loads(token, salt=LINK_SALT, max_age=settings.RECORDINGS_LINK_SECONDS)
    except signing.BadSignature:  # expired links raise SignatureExpired, a BadSignature
        return None
    if claims != {"r": pk, "u": user_id}:
        return None
    return Recording.objects.filter(pk=pk, state=MediaState.STORED).first()
