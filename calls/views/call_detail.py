"""A call's page: its facts, its timeline and, for operators, its control panel; all of it
live (calls/views/live.py), so a call is watched from ringing to its end without a reload."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from calls import selectors
from calls.control_forms import FORMS, ControlForm
from calls.models import Call
from calls.services import control
from calls.views import live
from portal.models import Role
from portal.roles import role_required

# Each toggle: the actions that set it on and off, the call's field, what it does.
TOGGLES = (
    ("mute", "unmute", "muted", "Mute: the callee is not heard while on."),
    ("earmuff", "unearmuff", "earmuffed", "Earmuff: the callee hears nothing while on."),
)


@dataclass(frozen=True)
class Result:
    """What came of the action just taken, shown next to its button."""

    action: str
    ok: bool
    message: str
    by: str = ""  # for an action on the timeline: who took it, and when
    at: datetime | None = None


@role_required(Role.VIEWER)
def call_detail(request: HttpRequest, pk: int) -> HttpResponse:
    call = selectors.call_detail(pk=pk)
    if call is None:
        raise Http404("There is no such call.")
    return render_call_page(request, call)


@live.polled(Role.VIEWER)
def call_detail_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The page's live part if the call changed after `since_change`, else 204."""
    call = selectors.call_detail(pk=pk)
    if call is None:
        raise Http404("There is no such call.")
    # The action forms keep what is being typed in them (hx-preserve) while the rest moves.
    return live.answer(request, selectors.call_changed_at(call=call), lambda previous_change:
                       render_call_page(request, call, partial=True,
                                        previous_change=previous_change, polled=True))


def render_call_page(
    request: HttpRequest,
    call: Call,
    *,
    forms: dict[str, ControlForm] | None = None,
    result: Result | None = None,
    status: int = 200,
    partial: bool = False,
    previous_change: Any = None,
    polled: bool = False,
) -> HttpResponse:
    """The call page, or with `partial` its live part; `forms` are control forms that came
    back with errors, `result` what the action just taken came to."""
    template = "calls/call_detail.html" + ("#live" if partial else "")
    return render(
        request,
        template,
        {
            "call": call,
            "can_place": request.user.has_role(Role.OPERATOR),
            "changed_at": live.token(selectors.call_changed_at(call=call)),
            "previous_change": previous_change,
            "polled": polled,
            "live_interval_ms": live.LIVE_INTERVAL_MS,
            **selectors.call_timeline(call=call),
            **control_panel(call, request.user, forms, result),
        },
        status=status,
    )


def control_panel(
    call: Call,
    user: Any,
    forms: dict[str, ControlForm] | None = None,
    result: Result | None = None,
) -> dict[str, Any]:
    """Context for `calls/_control_panel.html`; nothing for users below the operator role."""
    if not user.has_role(Role.OPERATOR):
        return {}
    last = selectors.last_control(call=call)
    if result is None and last is not None:
        accepted = last.payload.get("outcome") == "accepted"
        done = control.done_message(call.adapter_class, last.raw_status)
        result = Result(
            last.raw_status,
            accepted,
            done if accepted else f"Refused: {last.payload.get('error', done)}",
            by=str(last.payload.get("by", "")),
            at=last.received_at,
        )
    # A hang-up the provider accepted: nothing else fits while its end is on the way.
    hanging_up = (
        last is not None
        and last.raw_status == "hangup"
        and last.payload.get("outcome") == "accepted"
        and not call.is_terminal
    )
    actions = [] if hanging_up else control.available_actions(call)
    bound = forms or {}
    buttons = _buttons(call, actions)
    return {
        "control": {
            "actions": actions,
            "hanging_up": hanging_up,
            "last": last,
            "result": result,
            "buttons": buttons,
            "toggle_help": [button["help"] for button in buttons if button["help"]],
            "form_actions": [a for a in actions if a in FORMS],
            "forms": [
                (a, control.ACTIONS[a], bound.get(a) or FORMS[a](call=call), a in bound)
                for a in actions
                if a in FORMS
            ],
        },
    }


def _buttons(call: Call, actions: list[str]) -> list[dict[str, Any]]:
    """The one-click actions; a pair that turns a state on and off is one toggle button
    showing the state (aria-pressed) and sending the action that changes it. A pair the
    provider may ignore has no state to show (the call's field is not set by it): two buttons."""
    paired = {}
    provider = call.adapter_class
    for on, off, field, help_text in TOGGLES:
        if (on in actions and off in actions
                and not (control.may_ignore(provider, on) or control.may_ignore(provider, off))):
            pressed = getattr(call, field)
            paired[on] = {
                "action": off if pressed else on,
                "label": control.ACTIONS[on],
                "pressed": pressed,
                "help": help_text,
                "pair": (on, off),
            }
    buttons = []
    for action in actions:
        if (
            action in FORMS
            or action == "hangup"
            or any(action == button["pair"][1] for button in paired.values())
        ):
            continue
        buttons.append(
            paired.get(action)
            or {
                "action": action,
                "label": control.ACTIONS[action],
                "pressed": None,
                "help": "",
                "pair": (action,),
            }
        )
    return buttons
