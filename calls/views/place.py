"""The place-call page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from calls.forms import CallPlaceForm
from calls.services import placing
from portal.models import Role
from portal.roles import role_required
from portal.services import Actor, IdempotencyConflict
from voiceapps.phone import international


@role_required(Role.OPERATOR)
def call_new(request: HttpRequest) -> HttpResponse:
    """The place-call form; a GET with the form's values re-renders it for new choices."""
    if request.method == "POST":
        form = CallPlaceForm(request.POST)
        if form.is_valid():
            try:
                call, replayed = placing.call_place(
                    actor=Actor.from_request(request), via=placing.VIA_FORM,
                    **form.place_arguments())
            except ValidationError as error:
                form.add_service_errors(error)
            except IdempotencyConflict as conflict:
                form.add_error(None, "This form was already sent for another call; reload the "
                                     f"page to place a new one. ({conflict})")
            else:
                if replayed:
                    messages.info(request, "This form was already sent; here is its call.")
                else:
                    # Not "queued": the page it lands on is live, and a state in the message
                    # would stand above the call's status long after it moved on.
                    messages.success(request, f"Call to {international(call.to_display)} placed: "
                                              "this page follows it from the queue to its end.")
                return redirect("call_detail", pk=call.pk)
    else:
        form = CallPlaceForm(refresh_from=request.GET if request.GET else None)
    template = "calls/call_form.html"
    if request.headers.get("HX-Request") and form.accounts:
        template += "#call-form"
    return render(request, template, {"form": form})
