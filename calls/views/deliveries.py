"""The webhook-deliveries log (rejected ones first) and an admin's replay of a delivery."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from calls import selectors
from calls.filters import DeliveryFilter
from calls.models import WebhookDelivery
from calls.services.deliveries import delivery_replay
from calls.views.log import cursor_page
from portal.api.pagination import ReceivedPagination
from portal.models import Role
from portal.params import filtered_rows
from portal.roles import role_required
from portal.services import Actor


@role_required(Role.OPERATOR)
def delivery_list(request: HttpRequest) -> HttpResponse:
    params = request.GET.copy()
    if "outcome" not in params:
        params["outcome"] = "rejected"  # the page is there to diagnose refusals
    filters = DeliveryFilter(params, queryset=selectors.delivery_list())
    return render(request, "calls/delivery_list.html", {
        "filter": filters, **cursor_page(request, filtered_rows(filters), ReceivedPagination)})


@role_required(Role.ADMIN)
@require_POST
def delivery_replay_view(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("account"), pk=pk)
    try:
        event = delivery_replay(actor=Actor.from_request(request), delivery=delivery)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if event is None:
            messages.warning(request, "Replayed, but the event names no call: nothing changed.")
        elif event.is_duplicate:
            messages.info(request, f"Replayed: call {event.call_id} had this event already, "
                                   "so nothing changed.")
        else:
            messages.success(request, f"Replayed: the {event.kind} event was applied to call "
                                      f"{event.call_id}.")
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("delivery_list")
