import re
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination, LimitOffsetPagination

from portal.params import query_int


def _with_minimums(parameters: list[dict], minimums: dict[str, int]) -> list[dict]:
    """The paginator's documented parameters with the least value each takes."""
    for parameter in parameters:
        if parameter["name"] in minimums:
            parameter["schema"]["minimum"] = minimums[parameter["name"]]
    return parameters


class DocumentedLinks:
    """A list's `next` and `previous` examples in its API document name its own address.

    DRF's paginators give every list `http://api.example.org/accounts/?…` (its cursor one
    ending in a stray quote). The schema generator (CallboardAutoSchema._get_paginator) sets
    `documented_path`, the list's path, before asking for the paginated schema; its ids are
    filled in, as a link the API gives has them."""

    documented_path = ""

    def get_paginated_response_schema(self, schema: dict) -> dict:
        paginated = super().get_paginated_response_schema(schema)  # type: ignore[misc]
        address = "https://callboard.example.com" + re.sub(r"\{\w+\}", "1", self.documented_path)
        for link in ("next", "previous"):
            query = paginated["properties"][link]["example"].split("?", 1)[1].rstrip('"')
            paginated["properties"][link]["example"] = f"{address}?{query}"
        return paginated


class ListPagination(DocumentedLinks, LimitOffsetPagination):
    """Small lists (accounts, applications, numbers, tokens): limit and offset."""

    default_limit = 50
    max_limit = 500

    # DRF reads a limit or offset that is not a number as if it were not there: a client's
    # typo would page from the start without a word. Refused instead, a 400 naming it; a
    # limit above max_limit is still cut to it, as documented.
    def get_limit(self, request: Any) -> int:
        limit = query_int(request.query_params, self.limit_query_param)
        return self.default_limit if limit is None else min(limit, self.max_limit)

    def get_offset(self, request: Any) -> int:
        return query_int(request.query_params, self.offset_query_param, low=0) or 0

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        return _with_minimums(super().get_schema_operation_parameters(view),
                              {self.limit_query_param: 1, self.offset_query_param: 0})


class LogPagination(DocumentedLinks, CursorPagination):
    """Logs (calls, events, deliveries, audit): a cursor, so deep pages stay as fast as page 1."""

    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"
    ordering = ("-created_at", "-id")

    def get_page_size(self, request: Any) -> int:
        # As ListPagination's limit: not a number is a 400, not the default page.
        size = query_int(request.query_params, self.page_size_query_param)
        return self.page_size if size is None else min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        return _with_minimums(super().get_schema_operation_parameters(view),
                              {self.page_size_query_param: 1})

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        # A cursor the API never gave is a bad parameter, 400 naming it (as a mistyped filter
        # is), whether it does not decode (DRF: 404, "no such page") or decodes to a position
        # that is not a time (the database refuses it). Django's ValidationError, which the
        # pages answer 404 and the API 400 (portal.api.exceptions).
        try:
            return super().paginate_queryset(queryset, request, view)
        except (NotFound, DjangoValidationError):
            raise DjangoValidationError({self.cursor_query_param: [
                "Not a cursor this API gave; follow the `next` or `previous` link."]}) from None


class ReceivedPagination(LogPagination):
    """Logs of what arrived (webhook deliveries): newest arrival first."""

    ordering = ("-received_at", "-id")


class StoryPagination(LogPagination):
    """A story (a call's events): oldest arrival first, as it is read."""

    ordering = ("received_at", "id")
