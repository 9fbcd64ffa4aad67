"""The call profile pages: the list, the form (new and edit) and deleting."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from calls.filters import CallProfileFilter
from calls.forms import CallProfileForm
from calls.services import profiles
from portal.models import Role
from portal.params import filtered_page
from portal.roles import role_required
from portal.services import Actor
from voiceapps.models import CallProfile
from voiceapps.selectors import accounts_in_use

PAGE_SIZE = 50


@role_required(Role.VIEWER)
def call_profile_list(request: HttpRequest) -> HttpResponse:
    filters = CallProfileFilter(request.GET, queryset=CallProfile.objects.all())
    return render(request, "calls/profile_list.html", {
        **filtered_page(request, filters, per_page=PAGE_SIZE),
        "can_edit": request.user.has_role(Role.OPERATOR),
    })


def _profile_page(request: HttpRequest, profile: CallProfile | None) -> HttpResponse:
    """The profile form: a new one (profile None, its kind from ?kind=) or an existing one."""
    if request.method != "POST":
        # A new profile starts on the provider of an account in use: with only a sandbox
        # or a Twilio account, a form set for Vonage offers options nothing will apply.
        kind = request.GET.get("kind") or (
            accounts_in_use().values_list("kind", flat=True).first() or "")
        form = CallProfileForm(profile=profile, kind=kind)
    else:
        form = CallProfileForm(request.POST, profile=profile)
        if form.is_valid():
            actor = Actor.from_request(request)
            values = {
                "name": form.cleaned_data["name"],
                "description": form.cleaned_data["description"],
                "options": form.options_from_form(),
            }
            saved = form.saved(lambda: (
                profiles.call_profile_create(actor=actor, kind=form.provider_kind, **values)
                if profile is None
                else profiles.call_profile_update(actor=actor, profile=profile, **values)))
            if saved is not None:
                messages.success(request, f"Call profile “{saved.name}” saved.")
                return redirect("call_profile_list")
    template = "calls/profile_form.html"
    if request.headers.get("HX-Request"):
        template += "#profile-form"
    return render(request, template, {"form": form, "profile": profile})


@role_required(Role.OPERATOR)
def call_profile_create(request: HttpRequest) -> HttpResponse:
    return _profile_page(request, None)


@role_required(Role.OPERATOR)
def call_profile_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _profile_page(request, get_object_or_404(CallProfile, pk=pk))


@role_required(Role.OPERATOR)
@require_POST
def call_profile_delete(request: HttpRequest, pk: int) -> HttpResponse:
    profile = get_object_or_404(CallProfile, pk=pk)
    profiles.call_profile_delete(actor=Actor.from_request(request), profile=profile)
    messages.success(request, f"Call profile “{profile.name}” deleted.")
    return redirect("call_profile_list")
