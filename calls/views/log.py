"""The call log: `/calls/`, its live fragment and its CSV export, all through `CallFilter`.

Pages are cut by a cursor on (created_at, id), never by counting, so the thousandth page
costs what the first does. The live fragment answers 204 after one indexed MAX(updated_at)
when nothing changed since the page last asked, which is what it answers nearly always.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from calls import selectors
from calls.export import call_csv_response
from calls.filters import CallFilter, call_filter
from calls.models import Call
from calls.views import live
from portal.api.pagination import LogPagination
from portal.models import Role
from portal.roles import role_required

# Parameters that place the page in the log rather than choose calls.
NOT_FILTERS = ("cursor", "since_change", "page_size")


def filter_query(request: HttpRequest) -> str:
    """The request's filter parameters, re-encoded, without position parameters."""
    params = request.GET.copy()
    for name in NOT_FILTERS:
        params.pop(name, None)
    return params.urlencode()


def cursor_page(
    request: HttpRequest, rows: QuerySet, pagination: type[LogPagination] = LogPagination
) -> dict[str, Any]:
    """One page of `rows` by the API's cursor, with relative links to its neighbours."""
    paginator = pagination()
    try:
        page = paginator.paginate_queryset(rows, Request(request))
    except (NotFound, ValidationError):
        # A cursor someone edited or truncated: DRF cannot decode it, or it decodes to
        # a position that is not a time.
        raise Http404("This page link is not valid; start again from the newest calls.") from None
    return {
        "rows": page,
        "next_link": _relative(paginator.get_next_link()),
        "previous_link": _relative(paginator.get_previous_link()),
    }


def _relative(link: str | None) -> str:
    if not link:
        return ""
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _log_context(request: HttpRequest, filters: CallFilter) -> dict[str, Any]:
    page = cursor_page(request, filters.qs if filters.is_valid() else Call.objects.none())
    return {
        "filter": filters,
        "calls": page["rows"],
        "next_link": page["next_link"],
        "previous_link": page["previous_link"],
        "query": filter_query(request),
        "live": "cursor" not in request.GET,
        "live_interval_ms": live.LIVE_INTERVAL_MS,
    }


@role_required(Role.VIEWER)
def call_list(request: HttpRequest) -> HttpResponse:
    filters = call_filter(request.GET)
    context = _log_context(request, filters)
    context["changed_at"] = live.token(selectors.last_change())
    context["filtered"] = any(request.GET.get(name) for name in filters.filters)
    context["count"] = selectors.capped_count(filters.qs) if filters.is_valid() else 0
    context["cap"] = selectors.COUNT_CAP
    context["any_calls"] = context["calls"] or context["filtered"] or Call.objects.exists()
    return render(request, "calls/call_list.html", context)


def call_list_live(request: HttpRequest) -> HttpResponse:
    """The newest page of the log if any call changed after `since_change`, else 204."""
    if (refusal := live.refused(request, Role.VIEWER)) is not None:
        return refusal
    latest = selectors.last_change()
    seen = live.seen_change(request)
    if live.unchanged(latest, seen):
        return HttpResponse(status=204)
    filters = call_filter(request.GET)
    context = _log_context(request, filters)
    context["changed_at"] = live.token(latest)
    context["previous_change"] = live.shown(seen)
    context["any_calls"] = True  # something changed, so there is a call
    return render(request, "calls/call_list.html#live", context)


@role_required(Role.VIEWER)
def call_list_csv(request: HttpRequest) -> HttpResponse:
    """Exactly the filtered calls, newest first, streamed (any number of rows, flat memory)."""
    filters = call_filter(request.GET)
    if not filters.is_valid():
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in
                             filters.errors.items())
        return HttpResponse(f"The filters are not valid: {problems}\n", status=400,
                            content_type="text/plain; charset=utf-8")
    return call_csv_response(filters.qs)

