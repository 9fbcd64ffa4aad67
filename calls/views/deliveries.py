"""The webhook-deliveries log (rejected ones first) and an admin's replay of a delivery."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from calls import selectors
from calls.filters import DeliveryFilter
from calls.models import WebhookDelivery
from calls.services.deliveries import delivery_replay, delivery_replay_summary
from calls.views import live
from calls.views.log import cursor_page, filter_query
from portal.api.pagination import ReceivedPagination
from portal.models import Role
from portal.params import filtered_rows, next_path
from portal.roles import role_required
from portal.services import Actor


@role_required(Role.OPERATOR)
def delivery_list(request: HttpRequest) -> HttpResponse:
    return render(request, "calls/delivery_list.html", _page(request))


@live.polled(Role.OPERATOR)
def delivery_list_live(request: HttpRequest) -> HttpResponse:
    """The newest page of deliveries if one arrived after `since_change`, else 204."""
    return live.answer_rendered(request, selectors.last_delivery(),
                                "calls/delivery_list.html#live", lambda: _page(request))


def _page(request: HttpRequest) -> dict[str, Any]:
    params = request.GET.copy()
    if "outcome" not in params:
        params["outcome"] = "rejected"  # the page is there to diagnose refusals
    filters = DeliveryFilter(params, queryset=selectors.delivery_list())
    rows = cursor_page(request, filtered_rows(filters), ReceivedPagination)
    return {
        "filter": filters,
        **rows,
        "count": selectors.capped_count(filtered_rows(filters)),
        "cap": selectors.COUNT_CAP,
        "query": filter_query(request),
        "live": "cursor" not in request.GET,
        "changed_at": live.token(selectors.last_delivery()),
        "live_interval_ms": live.LIVE_INTERVAL_MS,
    }


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
            level = messages.warning
        else:
            level = messages.info if event.is_duplicate else messages.success
        level(request, delivery_replay_summary(event))
    return redirect(next_path(request, reverse("delivery_list")))
