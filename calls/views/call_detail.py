"""A call's page: its facts, its timeline and, for operators, its control panel."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from calls import selectors
from calls.control_forms import FORMS, ControlForm
from calls.models import Call
from calls.services import control
from portal.models import Role
from portal.roles import role_required


@role_required(Role.VIEWER)
def call_detail(request: HttpRequest, pk: int) -> HttpResponse:
    call = selectors.call_detail(pk=pk)
    if call is None:
        raise Http404("There is no such call.")
    return render_call_page(request, call)


def render_call_page(
    request: HttpRequest,
    call: Call,
    *,
    forms: dict[str, ControlForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The call page; `forms` are control forms that came back with errors."""
    return render(
        request,
        "calls/call_detail.html",
        {
            "call": call,
            "can_place": request.user.has_role(Role.OPERATOR),
            **selectors.call_timeline(call=call),
            **control_panel(call, request.user, forms),
        },
        status=status,
    )


def control_panel(
    call: Call, user: Any, forms: dict[str, ControlForm] | None = None
) -> dict[str, Any]:
    """Context for `calls/_control_panel.html`; nothing for users below the operator role."""
    if not user.has_role(Role.OPERATOR):
        return {}
    actions = control.available_actions(call)
    bound = forms or {}
    return {
        "control": {
            "actions": actions,
            # One-click actions, then the ones with a form (open when it came back with errors).
            "buttons": [
                (a, control.ACTIONS[a]) for a in actions if a not in FORMS and a != "hangup"
            ],
            "forms": [
                (a, control.ACTIONS[a], bound.get(a) or FORMS[a](call=call), a in bound)
                for a in actions
                if a in FORMS
            ],
        },
    }
