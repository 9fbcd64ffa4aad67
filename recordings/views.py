"""Recording pages: the list (the call log's filters), the player's and download's audio,
an admin's delete, and each account's retention."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from calls.models import Call
from portal.models import Role
from portal.params import filtered_page, filtered_rows
from portal.roles import role_required
from portal.services import Actor
from recordings import selectors
from recordings.filters import RecordingFilter
from recordings.forms import MediaRetentionForm
from recordings.models import MediaRetention, Recording
from recordings.services import deletion, retention
from recordings.serving import recording_response
from recordings.templatetags.recordings_media import media_context
from voiceapps.models import ProviderAccount

PAGE_SIZE = 50


@role_required(Role.VIEWER)
def recording_list(request: HttpRequest) -> HttpResponse:
    """The call log's filters (and `call`) choose the calls; their recordings are listed,
    newest first."""
    filters = RecordingFilter(request.GET, queryset=Call.objects.all())
    rows = selectors.recording_list(calls=filtered_rows(filters))
    return render(
        request,
        "recordings/recording_list.html",
        filtered_page(request, filters, per_page=PAGE_SIZE, rows=rows),
    )


@role_required(Role.VIEWER)
def call_media_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The call page's recordings and transcripts, as it polls them."""
    call = get_object_or_404(Call, pk=pk)
    return render(request, "recordings/_call_media.html", media_context(request, call))


@role_required(Role.VIEWER)
def recording_audio(request: HttpRequest, pk: int) -> HttpResponse:
    """The recording's bytes for the signed-in user whose link this is, while it works."""
    recording = selectors.recording_by_link(
        pk=pk, token=request.GET.get("t", ""), user_id=request.user.pk
    )
    if recording is None:
        # Not found rather than forbidden: the user's role allows recordings, this link is
        # what is wrong. A page of its own says why and leads back to the call for a new one.
        return render(
            request,
            "recordings/link_expired.html",
            {"call_id": selectors.recording_call_id(pk=pk)},
            status=404,
        )
    return recording_response(request, recording, download=request.GET.get("download") == "1")


@require_POST
@role_required(Role.ADMIN)
def recording_delete(request: HttpRequest, pk: int) -> HttpResponse:
    recording = get_object_or_404(Recording, pk=pk)
    deletion.recording_delete(actor=Actor.from_request(request), recording=recording)
    messages.success(
        request, f"The recording of call {recording.call_id} and its transcript are deleted."
    )
    return redirect("call_detail", pk=recording.call_id)


@role_required(Role.ADMIN)
def retention_list(request: HttpRequest) -> HttpResponse:
    accounts = ProviderAccount.objects.order_by("name").select_related("media_retention")
    return render(request, "recordings/retention_list.html", {"accounts": accounts})


@role_required(Role.ADMIN)
def retention_edit(request: HttpRequest, account_id: int) -> HttpResponse:
    account = get_object_or_404(ProviderAccount, pk=account_id)
    policy = MediaRetention.objects.filter(account=account).first() or MediaRetention(
        account=account
    )
    form = MediaRetentionForm(request.POST or None, instance=policy)
    if (
        request.method == "POST"
        and form.is_valid()
        and form.saved(
            lambda: retention.media_retention_update(
                actor=Actor.from_request(request), account=account, **form.cleaned_data
            )
        )
    ):
        messages.success(request, f"Recording retention of {account.name} saved.")
        return redirect("recording_retention")
    return render(request, "recordings/retention_form.html", {"form": form, "account": account})
