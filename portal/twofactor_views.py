"""Pages of two-factor sign-in: enter a code, set up an authenticator, an admin's reset."""

from base64 import b32encode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal import twofactor
from portal.lockout import Lock
from portal.models import Role, SecurityPolicy, User
from portal.params import next_path
from portal.roles import role_required
from portal.services import Actor


class CodeForm(forms.Form):
    code = forms.CharField(
        max_length=16,
        label="Code",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
        help_text="The 6 digits your authenticator app shows, or one of your recovery codes.",
    )


@login_required
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    if request.user.is_verified() or not twofactor.two_factor_enrolled(request.user):
        return redirect(next_path(request, "/"))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = twofactor.second_factor_verify(request=request, code=form.cleaned_data["code"])
        if result is True:
            return redirect(next_path(request, "/"))
        form.add_error(
            "code",
            result.message
            if isinstance(result, Lock)
            else "That code is not right. Codes change every 30 seconds; check your "
            "phone's clock, or use a recovery code.",
        )
    return render(
        request, "portal/two_factor_verify.html", {"form": form, "next": next_path(request, "/")}
    )


@login_required
@never_cache  # it shows the authenticator's secret and the recovery codes
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    enrolled = twofactor.two_factor_enrolled(user)
    if enrolled and not user.is_verified():
        return redirect("two_factor_verify")  # changes to a second factor need it first
    required = SecurityPolicy.load().requires_two_factor(user.role)
    form = CodeForm(request.POST if request.POST.get("action") == "confirm" else None)
    codes = None
    if request.method == "POST":
        action = request.POST.get("action")
        actor = Actor.from_request(request)
        if action == "confirm" and form.is_valid():
            codes = twofactor.enrolment_confirm(request=request, code=form.cleaned_data["code"])
            if codes is None:
                form.add_error(
                    "code",
                    "That code is not right. Scan the QR code again, or "
                    "check that your phone's clock is set automatically.",
                )
            enrolled = codes is not None
        elif action == "recovery" and enrolled:
            codes = twofactor.recovery_codes_renew(actor=actor, user=user)
        elif action == "remove" and enrolled and not required:
            twofactor.two_factor_reset(actor=actor, user=user)
            messages.success(request, "Two-factor sign-in is off.")
            return redirect("two_factor_setup")
    context = {"form": form, "codes": codes, "enrolled": enrolled, "required": required}
    if enrolled:
        context["codes_left"] = twofactor.recovery_codes_left(user)
    else:
        # Recovery codes come with the first right code: none exists to type here yet.
        form.fields["code"].help_text = "The 6 digits your authenticator app shows."
        device = twofactor.enrolment_device(user)
        context["secret"] = b32encode(device.bin_key).decode()  # to type in instead
    return render(request, "portal/two_factor_setup.html", context)


@login_required
@never_cache  # it holds the secret
def two_factor_qr(request: HttpRequest) -> HttpResponse:
    """The QR code of the authenticator being set up, as an image (the page's CSP allows
    images from here; an inline script or style would not be)."""
    if twofactor.two_factor_enrolled(request.user):
        raise Http404("Two-factor sign-in is set up already.")
    svg = twofactor.qr_code_svg(twofactor.enrolment_device(request.user))
    return HttpResponse(svg, content_type="image/svg+xml")


@role_required(Role.ADMIN)
@require_POST
def user_two_factor_reset(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    twofactor.two_factor_reset(actor=Actor.from_request(request), user=user)
    messages.success(
        request,
        f"Two-factor sign-in of {user.username} removed; they set it up "
        "again at their next sign-in if their role needs it.",
    )
    return redirect("user_edit", pk=user.pk)
