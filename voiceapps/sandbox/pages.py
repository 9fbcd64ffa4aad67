"""The one page action of the sandbox: the dashboard's "Place a test call"."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from portal.models import Role
from portal.roles import role_required
from portal.services import Actor
from voiceapps.sandbox.services import DEFAULT_TEST_SCRIPT, sandbox_test_call_place


@role_required(Role.OPERATOR)
@require_POST
def test_call(request: HttpRequest) -> HttpResponse:
    try:
        call = sandbox_test_call_place(actor=Actor.from_request(request),
                                       script=request.POST.get("script", DEFAULT_TEST_SCRIPT))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("dashboard")
    messages.success(request, "Test call placed: watch it in the call log.")
    return redirect("call_detail", call.pk)
