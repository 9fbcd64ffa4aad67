"""Call control from the call page and the call log: POST, call the service, answer."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from calls import selectors
from calls.control_forms import FORMS
from calls.models import Call
from calls.services import control
from calls.views.call_detail import Result, render_call_page
from portal.models import Role
from portal.params import next_path
from portal.roles import role_required
from portal.services import Actor


def _back(request: HttpRequest, call: Call) -> HttpResponse:
    """Where the action was started: the log row's page, else the call's Actions panel."""
    return redirect(next_path(request, reverse("call_detail", args=[call.pk]) + "#actions"))


@role_required(Role.OPERATOR)
@require_POST
def call_control_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """From the call page (htmx) the answer is the page's live part with the outcome next to
    the button; otherwise a flash and back where the action was started."""
    if action not in control.ACTIONS:
        raise Http404("There is no such call action.")
    call = get_object_or_404(Call.objects.select_related("account", "application"), pk=pk)
    in_page = bool(request.headers.get("HX-Request"))
    form = FORMS[action](request.POST, call=call) if action in FORMS else None
    if form is not None and not form.is_valid():
        return _answer(request, call, forms={action: form}, status=400, in_page=in_page)
    try:
        control.call_control(actor=Actor.from_request(request), call=call, action=action,
                             **(form.arguments() if form else {}))
    except ValidationError as error:
        if form is None:
            return _refused(request, call, action, " ".join(error.messages), in_page)
        form.add_service_errors(error)
        return _answer(request, call, forms={action: form}, status=400, in_page=in_page)
    except (control.ControlConflict, control.ControlFailed) as refusal:
        return _refused(request, call, action, str(refusal), in_page)
    if in_page:
        return _answer(request, call, in_page=True)
    messages.success(request, f"{control.done_message(call.adapter_class, action)}: call to "
                              f"{call.to_display or call.pk}.")
    return _back(request, call)


def _refused(request: HttpRequest, call: Call, action: str, message: str,
             in_page: bool) -> HttpResponse:
    if in_page:
        return _answer(request, call, result=Result(action, False, message), in_page=True)
    messages.error(request, message)
    return _back(request, call)


def _answer(request: HttpRequest, call: Call, *, in_page: bool, status: int = 200,
            **page: Any) -> HttpResponse:
    """The call as it is now. htmx swaps only a 2xx: in the page, a refusal is a 200 whose
    content says so next to the button."""
    call = selectors.call_detail(pk=call.pk)
    return render_call_page(request, call, partial=in_page, status=200 if in_page else status,
                            **page)
