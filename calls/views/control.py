"""Call control from the call page and the call log: POST, call the service, flash, go back."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from calls.control_forms import FORMS
from calls.models import Call
from calls.services import control
from calls.views.call_detail import render_call_page
from portal.models import Role
from portal.roles import role_required
from portal.services import Actor


def _back(request: HttpRequest, call: Call) -> HttpResponse:
    """Where the action was started: the log row's page, else the call's Actions panel."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = reverse("call_detail", args=[call.pk]) + "#actions"
    return redirect(target)


@role_required(Role.OPERATOR)
@require_POST
def call_control_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in control.ACTIONS:
        raise Http404("There is no such call action.")
    call = get_object_or_404(Call.objects.select_related("account", "application"), pk=pk)
    form = FORMS[action](request.POST, call=call) if action in FORMS else None
    if form is not None and not form.is_valid():
        return render_call_page(request, call, forms={action: form}, status=400)
    try:
        control.call_control(actor=Actor.from_request(request), call=call, action=action,
                             **(form.arguments() if form else {}))
    except ValidationError as error:
        if form is None:
            messages.error(request, " ".join(error.messages))
            return _back(request, call)
        form.add_service_errors(error)
        return render_call_page(request, call, forms={action: form}, status=400)
    except (control.ControlConflict, control.ControlFailed) as refusal:
        messages.error(request, str(refusal))
        return _back(request, call)
    messages.success(request, f"{control.DONE[action]}: call to {call.to_display or call.pk}.")
    return _back(request, call)
