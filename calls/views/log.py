"""The call log: `/calls/`, its live fragment and its CSV export, all through `CallFilter`.

Pages are cut by a cursor on (created_at, id), never by counting, so the thousandth page
costs what the first does.

The live fragment is asked every LOG_INTERVAL_MS (at 500 events a second a change would wait
half a second on average for a poll each second). It reads the ids and versions of the newest
page only, once (one indexed query of page-size + 1 rows, through the paginator), and answers
204 when they are what the page showed, by a digest the page sends back in `page_state`:
exact, whatever the order the changes were stamped or committed in, so the late-change
margin costs no renders here. When they differ, only the rows that changed are rendered; a
row the page already shows as it is comes as an empty placeholder that static/js/live.js
fills with the page's own row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from calls import selectors
from calls.export import call_csv_response
from calls.filters import CallFilter, call_filter
from calls.models import Call
from calls.views import live
from portal.api.pagination import LogPagination
from portal.models import Role
from portal.params import BadParameter, filters_refused, parse_int
from portal.roles import role_required

# Parameters that place the page in the log rather than choose calls.
NOT_FILTERS = ("cursor", "since_change", "page_state", "page_size")
# A change waits 200 ms on average for the next poll (500 ms at one poll a second). A poll
# that finds nothing costs one narrow query, one that finds a change renders only what changed:
# at 2.5 polls a second a viewer costs the server no more than one full page a second did
# (docs/performance.md §4).
LOG_INTERVAL_MS = 400
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Version = tuple[int, datetime, datetime]  # a row's id, created_at and updated_at


def _microseconds(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def page_digest(versions: Sequence[Version]) -> str:
    """Equal for two pages exactly when they show the same rows at the same versions."""
    return live.digest((pk, _microseconds(updated_at)) for pk, _, updated_at in versions)


@dataclass(frozen=True)
class PageState:
    """What a live log page shows: a digest of its rows' ids and versions, when it was
    rendered, and its last row's place in the log (created_at, id), below which a row is
    new to the page."""

    digest: str
    rendered_at: datetime
    last: tuple[datetime, int] | None

    @classmethod
    def of(cls, versions: Sequence[Version], rendered_at: datetime) -> PageState:
        last = (versions[-1][1], versions[-1][0]) if versions else None
        return cls(page_digest(versions), rendered_at, last)

    @classmethod
    def parse(cls, text: str) -> PageState | None:
        """The `page_state` a page was sent with; None when it has none."""
        if not text:
            return None
        digest, *numbers = text.split(".")
        moments = [parse_int(number, low=0) for number in numbers]
        if len(moments) not in (1, 3) or None in moments:
            raise BadParameter("page_state", "Give the page_state this page was sent.")
        rendered_at, *last = [EPOCH + timedelta(microseconds=n) for n in moments]
        return cls(digest, rendered_at, (last[0], moments[2]) if last else None)

    def token(self) -> str:
        moments = [_microseconds(self.rendered_at)]
        if self.last is not None:
            moments += [_microseconds(self.last[0]), self.last[1]]
        return ".".join([self.digest, *map(str, moments)])

    def kept(self, versions: Sequence[Version]) -> set[int]:
        """The rows of `versions` this page shows as they are: at or above its last row,
        and stamped before the late-change margin of its rendering (so committed before it;
        a change committed since is stamped after that)."""
        if self.last is None:
            return set()
        settled = self.rendered_at - live.LATE_CHANGE_MARGIN
        return {pk for pk, created_at, updated_at in versions
                if updated_at <= settled and (created_at, pk) >= self.last}


def _versions(rows: Sequence[Call]) -> list[Version]:
    return [(call.pk, call.created_at, call.updated_at) for call in rows]


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
    paginator, page = cursor_rows(request, rows, pagination)
    return {"rows": page, **cursor_links(paginator)}


def cursor_rows(
    request: HttpRequest, rows: QuerySet, pagination: type[LogPagination] = LogPagination
) -> tuple[LogPagination, list]:
    """One page of `rows` by the API's cursor, and the paginator that read it (for
    `cursor_links`, which a live poll answered 204 never needs)."""
    paginator = pagination()
    try:
        return paginator, paginator.paginate_queryset(rows, Request(request))
    except (NotFound, ValidationError):
        # A cursor someone edited or truncated: DRF cannot decode it, or it decodes to
        # a position that is not a time.
        raise Http404("This page link is not valid; start again from the newest calls.") from None


def cursor_links(paginator: LogPagination) -> dict[str, str]:
    """Relative links to the neighbours of the page `paginator` read."""
    return {
        "next_link": _relative(paginator.get_next_link()),
        "previous_link": _relative(paginator.get_previous_link()),
    }


def _relative(link: str | None) -> str:
    if not link:
        return ""
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _log_context(request: HttpRequest, filters: CallFilter, page: dict[str, Any],
                 versions: Sequence[Version], rendered_at: datetime) -> dict[str, Any]:
    """What the log and its live fragment show of `page`, whose rows are `versions`."""
    return {
        "filter": filters,
        "calls": page["rows"],
        "next_link": page["next_link"],
        "previous_link": page["previous_link"],
        "query": filter_query(request),
        "live": "cursor" not in request.GET,
        "live_interval_ms": LOG_INTERVAL_MS,
        # What the page's next poll sends back: its latest change and what it shows.
        "changed_at": live.token(max((updated_at for *_, updated_at in versions), default=None)),
        "page_state": PageState.of(versions, rendered_at).token(),
    }


def _filtered(filters: CallFilter) -> QuerySet:
    return filters.qs if filters.is_valid() else Call.objects.none()


@role_required(Role.VIEWER)
def call_list(request: HttpRequest) -> HttpResponse:
    filters = call_filter(request.GET)
    rendered_at = timezone.now()  # before the rows are read: see PageState.kept
    page = cursor_page(request, _filtered(filters))
    context = _log_context(request, filters, page, _versions(page["rows"]), rendered_at)
    context["filtered"] = any(request.GET.get(name) for name in filters.filters)
    context["count"] = selectors.capped_count(filters.qs) if filters.is_valid() else 0
    context["cap"] = selectors.COUNT_CAP
    context["any_calls"] = context["calls"] or context["filtered"] or Call.objects.exists()
    return render(request, "calls/call_list.html", context)


@live.polled(Role.VIEWER)
def call_list_live(request: HttpRequest) -> HttpResponse:
    """The newest page of the log, with only its changed rows rendered, if it is not what
    the page showed (`page_state`), else 204."""
    seen = live.seen_change(request)
    shown = PageState.parse(request.GET.get("page_state", ""))
    filters = call_filter(request.GET)
    rendered_at = timezone.now()  # before the rows are read: see PageState.kept
    # The page's versions are read once: they decide the 204 and say what to render.
    paginator, rows = cursor_rows(request, selectors.call_versions(_filtered(filters)))
    versions = [(row["pk"], row["created_at"], row["updated_at"]) for row in rows]
    if shown is not None and shown.digest == page_digest(versions):
        return HttpResponse(status=204)
    kept = shown.kept(versions) if shown else set()
    # Only the rows that changed are loaded; one changed again since `versions` shows as it
    # is now, and the page state (from `versions`) brings it once more at the next poll.
    changed = selectors.calls_by_id(_filtered(filters), [pk for pk, *_ in versions
                                                        if pk not in kept])
    page = {"rows": [changed.get(pk, {"pk": pk})
                     for pk, *_ in versions if pk in kept or pk in changed],
            **cursor_links(paginator)}
    context = _log_context(request, filters, page, versions, rendered_at)
    context["previous_change"] = live.shown(seen)
    context["kept"] = kept
    context["any_calls"] = bool(versions) or Call.objects.exists()
    return render(request, "calls/call_list.html#live", context)


@role_required(Role.VIEWER)
def call_list_csv(request: HttpRequest) -> HttpResponse:
    """Exactly the filtered calls, newest first, streamed (any number of rows, flat memory)."""
    filters = call_filter(request.GET)
    if not filters.is_valid():
        return filters_refused(filters)
    return call_csv_response(filters.qs)

