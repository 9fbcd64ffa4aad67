from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from calls import services
from calls.control_forms import ControlForm
from calls.control_views import control_panel
from calls.forms import CallPlaceForm, CallProfileForm
from calls.models import Call
from calls.timeline import call_timeline
from portal.models import Role
from portal.roles import role_required
from portal.services import Actor
from voiceapps.models import CallProfile
from voiceapps.providers.registry import KIND_CHOICES

# Placing calls and call profiles ----------------------------------------------------------

@role_required(Role.OPERATOR)
def call_new(request: HttpRequest) -> HttpResponse:
    """The place-call form; a GET with the form's values re-renders it for new choices."""
    if request.method == "POST":
        form = CallPlaceForm(request.POST)
        if form.is_valid():
            try:
                call, replayed = services.call_place(
                    actor=Actor.from_request(request), via=services.VIA_FORM,
                    **form.place_arguments())
            except ValidationError as error:
                form.add_service_errors(error)
            except services.IdempotencyConflict as conflict:
                form.add_error(None, "This form was already sent for another call; reload the "
                                     f"page to place a new one. ({conflict})")
            else:
                if replayed:
                    messages.info(request, "This form was already sent; here is its call.")
                else:
                    messages.success(request, f"Call to {call.to_display} queued.")
                return redirect("call_detail", pk=call.pk)
    else:
        form = CallPlaceForm(refresh_from=request.GET if request.GET else None)
    template = "calls/call_form.html"
    if request.headers.get("HX-Request") and form.accounts:
        template += "#call-form"
    return render(request, template, {"form": form})


@role_required(Role.VIEWER)
def call_detail(request: HttpRequest, pk: int) -> HttpResponse:
    call = get_object_or_404(
        Call.objects.select_related("account", "application", "ncco_version__document",
                                    "placed_by", "placed_via_token"), pk=pk)
    return render_call_page(request, call)


def render_call_page(request: HttpRequest, call: Call, *,
                     forms: dict[str, ControlForm] | None = None,
                     status: int = 200) -> HttpResponse:
    """The call page; `forms` are control forms that came back with errors."""
    return render(request, "calls/call_detail.html", {
        "call": call,
        "can_place": request.user.has_role(Role.OPERATOR),
        **call_timeline(call=call),
        **control_panel(call, request.user, forms),
    }, status=status)


@role_required(Role.VIEWER)
def call_profile_list(request: HttpRequest) -> HttpResponse:
    profiles = CallProfile.objects.all()
    query = request.GET.get("q", "").strip()
    kind = request.GET.get("kind", "")
    if query:
        profiles = profiles.filter(Q(name__icontains=query) | Q(description__icontains=query))
    if kind:
        profiles = profiles.filter(kind=kind)
    page = Paginator(profiles, 50).get_page(request.GET.get("page"))
    return render(request, "calls/profile_list.html", {
        "page": page, "query": query, "kind": kind, "kinds": KIND_CHOICES,
        "labels": dict(KIND_CHOICES), "can_edit": request.user.has_role(Role.OPERATOR),
        "filtered": bool(query or kind),
    })


def _profile_page(request: HttpRequest, profile: CallProfile | None) -> HttpResponse:
    """The profile form: a new one (profile None, its kind from ?kind=) or an existing one."""
    if request.method != "POST":
        form = CallProfileForm(profile=profile, kind=request.GET.get("kind", ""))
    else:
        form = CallProfileForm(request.POST, profile=profile)
        if form.is_valid():
            actor = Actor.from_request(request)
            values = {"name": form.cleaned_data["name"],
                      "description": form.cleaned_data["description"],
                      "options": form.options_from_form()}
            try:
                if profile is None:
                    saved = services.call_profile_create(actor=actor, kind=form.provider_kind,
                                                         **values)
                else:
                    saved = services.call_profile_update(actor=actor, profile=profile, **values)
            except ValidationError as error:
                form.add_service_errors(error)
            else:
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
    services.call_profile_delete(actor=Actor.from_request(request), profile=profile)
    messages.success(request, f"Call profile “{profile.name}” deleted.")
    return redirect("call_profile_list")
