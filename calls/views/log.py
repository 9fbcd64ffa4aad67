"""The call log: `/calls/`, its live fragment and its CSV export, all through `CallFilter`.

Pages are cut by a cursor on (created_at, id), never by counting, so the thousandth page
costs what the first does. The live fragment answers 204 after one indexed MAX(updated_at)
when nothing changed since the page last asked, which is what it answers nearly always.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from calls import selectors
from calls.filters import CallFilter, call_filter
from calls.models import Call
from calls.views import live
from portal.api.pagination import LogPagination
from portal.models import Role
from portal.roles import role_required

# Parameters that place the page in the log rather than choose calls.
NOT_FILTERS = ("cursor", "since_change", "page_size")
CSV_BATCH = 2000  # rows fetched, and sent, at a time
# OWASP's CSV injection rule: a text cell a spreadsheet would run as a formula (=, +, -, @,
# tab or carriage return first, also after leading white space) is prefixed with '. Only a
# whole E.164 number in a number column stays as typed (docs/decisions.md). Numeric fields
# (duration, price) are numbers, never text a person typed.
FORMULA_START = re.compile(r"\s*[=+\-@]| *[\t\r]")
E164 = re.compile(r"\+[0-9]{1,15}")
PHONE_COLUMNS = frozenset({"from", "to"})
CSV_COLUMNS = (
    ("id", "id"), ("created_at", "created_at"), ("direction", "direction"),
    ("from", "from_number"), ("to", "to_display"), ("status", "status"),
    ("provider_status", "provider_status"), ("answered_by", "answered_by"),
    ("duration_seconds", "duration_seconds"), ("provider", "provider"),
    ("account", "account__name"), ("application", "application__name"), ("tag", "tag"),
    ("answered_at", "answered_at"), ("ended_at", "ended_at"), ("price", "price"),
    ("sip_code", "sip_code"), ("failure_detail", "failure_detail"),
    ("provider_call_id", "provider_call_id"),
)


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
    rows = filters.qs.order_by("-created_at", "-id").values_list(
        *(field for _, field in CSV_COLUMNS))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return StreamingHttpResponse(
        _csv_lines(rows),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="calls-{stamp}.csv"'},
    )


class _Echo:
    """csv.writer writes into this; each row comes straight back as a string to stream."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(rows: QuerySet) -> Iterator[str]:
    """The CSV in pieces of CSV_BATCH rows: the server writes each piece as one chunk, and a
    chunk per row cost more than making the row."""
    writer = csv.writer(_Echo())
    yield writer.writerow([name for name, _ in CSV_COLUMNS])
    phone = [name in PHONE_COLUMNS for name, _ in CSV_COLUMNS]
    batch = []
    for row in rows.iterator(chunk_size=CSV_BATCH):
        batch.append(writer.writerow([_cell(value, is_phone) for value, is_phone in
                                      zip(row, phone, strict=True)]))
        if len(batch) == CSV_BATCH:
            yield "".join(batch)
            batch = []
    yield "".join(batch)


def _cell(value: Any, is_phone: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
    text = str(value)
    if isinstance(value, str) and FORMULA_START.match(text) and not (
            is_phone and E164.fullmatch(text)):
        return "'" + text
    return text
