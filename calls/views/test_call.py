"""The dashboard's "Place a test call": POST, place it, show the call's (live) page."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from calls.services.test_call import test_call_place
from portal.models import Role
from portal.roles import role_required
from portal.services import Actor


@role_required(Role.OPERATOR)
@require_POST
def test_call(request: HttpRequest) -> HttpResponse:
    try:
        call = test_call_place(
            actor=Actor.from_request(request), callee=request.POST.get("script", ""),
            application_id=request.POST.get("application", ""),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("dashboard")
    messages.success(
        request, "Test call placed: this page follows it as it rings, is answered and ends."
    )
    return redirect("call_detail", call.pk)
