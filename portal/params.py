"""Ids, numbers, moments and return addresses from URLs, query strings and forms: one parser
for each.

Python's int() and str.isdigit() take more than ASCII digits ("²".isdigit() is true, int("٣")
is 3) and int() has no upper bound, while the database's ids are 64-bit: an id from a request
is ASCII digits from 1 to BIGINT_MAX or it is refused, in a path (404: the converter `id`
matches nothing else), in a filter or a hand-read query parameter (400 naming it).
"""

from __future__ import annotations

import operator
import re
from datetime import UTC, datetime, time
from functools import reduce
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import BadRequest
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import Truncator
from django_filters.fields import ModelChoiceField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from portal.jsontext import NUL

BIGINT_MAX = 2**63 - 1  # PostgreSQL's bigint and SQLite's INTEGER
_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")  # 19 digits hold BIGINT_MAX


class BadParameter(BadRequest):
    """A query parameter that is not what it must be: a 400 naming it (pages and API)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def parse_int(text: str, *, low: int = 1, high: int = BIGINT_MAX) -> int | None:
    """`text` as an int when it is ASCII digits from `low` to `high`, else None."""
    if not _ASCII_DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if low <= value <= high else None


def query_int(params: Any, name: str, *, low: int = 1, high: int = BIGINT_MAX) -> int | None:
    """The parameter `name` as an int, None when absent or empty; BadParameter otherwise."""
    text = params.get(name, "")
    if text == "":
        return None
    value = parse_int(text, low=low, high=high)
    if value is None:
        raise BadParameter(name, f"Enter a whole number from {low} to {high}.")
    return value


def nul_parameters(params: QueryDict) -> list[str]:
    """The names of the parameters whose name or a value holds the NUL character: PostgreSQL
    refuses it in text, even to compare, so such a parameter is refused before any query."""
    return sorted({name for name, values in params.lists()
                   if NUL in name or any(NUL in value for value in values)})


def next_path(request: HttpRequest, default: str) -> str:
    """Where to go back to: the request's `next` (form, then query) when it is a path on this
    site, else `default`. Never another host (an open redirect), and never a bare word, which
    `redirect()` would take for a view's name and fail on."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


class IdConverter:
    """The path converter `id` (<id:pk>): a database id, so /calls/99999999999999999999 is a 404."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        parsed = parse_int(value)
        if parsed is None:
            raise ValueError(value)  # Django's resolver reads this as "no match"
        return parsed

    def to_url(self, value: int | str) -> str:
        return str(value)


# Filters (django-filter) ----------------------------------------------------------------------

class ModelIdField(ModelChoiceField):
    """A model choice whose value must be an id (parse_int) before the database is asked.

    With a `null_label`, its `null_value` (say "none") also passes: objects linked to nothing.
    """

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values:
            return None
        if self.null_label is not None and value == self.null_value:
            return value
        if not isinstance(value, self.queryset.model) and parse_int(str(value)) is None:
            raise forms.ValidationError(f"Enter an id: a whole number from 1 to {BIGINT_MAX}.",
                                        code="invalid_choice")
        return super().to_python(value)


class ModelIdsField(forms.ModelMultipleChoiceField):
    """Several model choices, each an id (parse_int) before the database is asked: SQLite
    cannot bind an int past 64 bits, and Django's IN lookup, unlike its =, lets one through."""

    def clean(self, value: Any) -> Any:
        for pk in value if isinstance(value, list | tuple) else ():
            if parse_int(str(pk)) is None:
                raise forms.ValidationError(self.error_messages["invalid_pk_value"],
                                            code="invalid_pk_value", params={"pk": pk})
        return super().clean(value)


class ModelIdFilter(django_filters.ModelChoiceFilter):
    """The filter every FilterSet uses for a related object chosen by id."""

    field_class = ModelIdField


class SearchFilter(django_filters.CharFilter):
    """A list's free-text search box: the rows where one of `fields` contains the text, every
    row for a blank one. A FilterSet that matches otherwise passes `method` instead."""

    def __init__(self, *fields: str, placeholder: str, help_text: str, **kwargs: Any) -> None:
        self.searched = fields
        widget = forms.TextInput(attrs={"type": "search", "placeholder": placeholder})
        super().__init__(label="Search", max_length=100, widget=widget, help_text=help_text,
                         **kwargs)

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        text = (value or "").strip()
        if not text:
            return qs
        return qs.filter(reduce(operator.or_,
                                (Q(**{f"{name}__icontains": text}) for name in self.searched)))


def filtered_rows(filters: django_filters.FilterSet) -> QuerySet:
    """The rows a page's filters select; none while a value is bad (its form says which),
    never the wider list a dropped filter would give. The API refuses such a value (400)."""
    return filters.qs if filters.is_valid() else filters.queryset.none()


def filters_refused(filters: django_filters.FilterSet) -> HttpResponse:
    """A download's answer to filters with a bad value: a 400 naming each, in words (a file
    of the wider list would be the wrong file). Call it once `filters.is_valid()` is false."""
    problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in filters.errors.items())
    return HttpResponse(f"The filters are not valid: {problems}\n", status=400,
                        content_type="text/plain; charset=utf-8")


# A date is typed in ISO 8601's order whatever the browser's locale: a browser's date picker
# would show mm/dd/yyyy to some. Filters (MomentField) and forms' date fields use these.
ISO_DATE_ATTRS = {"placeholder": "YYYY-MM-DD", "inputmode": "numeric", "autocomplete": "off"}


class CountedPaginator(Paginator):
    """A paginator told how many objects there are, instead of counting them itself."""

    def __init__(self, object_list: QuerySet, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self.known_count = count

    @property
    def count(self) -> int:
        return self.known_count


def filtered_page(request: HttpRequest, filters: django_filters.FilterSet, *, per_page: int,
                  rows: QuerySet | None = None, count: int | None = None) -> dict[str, Any]:
    """A list page's context (templates/list_page.html): its FilterSet as `filter`, one page
    of the rows it selects (or of `rows`, read from them) as `page`, `filtered` when any
    filter is on, `query`, the filters on as a query string (for links that keep them), and
    `poll_query`, the same with the page shown (for a live table's poll of that page).
    `count`, when given, is how many rows there are unfiltered, a figure already read: the
    pages of the unfiltered list are counted by it, not by a COUNT."""
    rows = filtered_rows(filters) if rows is None else rows
    query = QueryDict(mutable=True)
    for name in filters.filters:
        if request.GET.get(name):
            query[name] = request.GET[name]
    paginator = (Paginator(rows, per_page) if query or count is None
                 else CountedPaginator(rows, per_page, count=count))
    page = paginator.get_page(request.GET.get("page"))
    poll = query.copy()
    if page.number > 1:
        poll["page"] = str(page.number)
    return {
        "filter": filters,
        "page": page,
        "filtered": bool(query),
        "query": query.urlencode(),
        "poll_query": poll.urlencode(),
    }


class MomentField(forms.CharField):
    """A date ("2026-01-05") or a date and time ("2026-01-05T10:30", offset optional).

    Cleans to an aware datetime: the start of a bare date, or with `end_of_day` its last
    microsecond, so `until=2026-01-05` includes that whole day.
    """

    # The API and the dashboard's links also give a date and time here.
    widget = forms.TextInput(attrs=ISO_DATE_ATTRS)

    def __init__(self, *, end_of_day: bool = False, **kwargs: Any) -> None:
        self.end_of_day = end_of_day
        super().__init__(**kwargs)

    def clean(self, value: Any) -> datetime | None:
        text = (super().clean(value) or "").strip()
        if not text:
            return None
        moment = parse_moment(text, end_of_day=self.end_of_day)
        if moment is None:
            # Says which value: the tour read the bare rule as the field's help.
            # The value as a parameter, never in the message: django-filter's API error
            # formats every message with its params, and a "%" typed in the value broke it.
            raise forms.ValidationError(
                "“%(value)s” is not a date: write one as 2026-01-05, or a date and time as "
                "2026-01-05T10:30.", params={"value": Truncator(text).chars(40)})
        return moment


def parse_moment(text: str, *, end_of_day: bool = False) -> datetime | None:
    """`text` as an aware datetime the database can store (see MomentField), else None."""
    try:
        day = parse_date(text)  # first: Python also reads a bare date as a datetime
        moment = None if day else parse_datetime(text.replace(" ", "T"))
        if day is not None:
            moment = datetime.combine(day, time.max if end_of_day else time.min)
        if moment is None:
            return None
        if not timezone.is_aware(moment):
            moment = timezone.make_aware(moment)
        moment.astimezone(UTC)  # stored in UTC: 0001-01-01T00:00+01:00 is not storable
    except (ValueError, OverflowError):
        return None
    return moment


@extend_schema_field(OpenApiTypes.STR)
class MomentFilter(django_filters.Filter):
    field_class = MomentField


def moment_range(
    field_name: str, *, labels: tuple[str, str] = ("From date", "To date"),
    help_texts: tuple[str, str] = ("", ""),
) -> tuple[MomentFilter, MomentFilter]:
    """A list's `since` and `until` over one moment field, both ends included: a bare date
    as `until` means its whole day, so "from 5 to 5 January" shows that day."""
    return (
        MomentFilter(field_name=field_name, lookup_expr="gte", label=labels[0],
                     help_text=help_texts[0]),
        MomentFilter(field_name=field_name, lookup_expr="lte", end_of_day=True, label=labels[1],
                     help_text=help_texts[1]),
    )
