from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination, LimitOffsetPagination


class ListPagination(LimitOffsetPagination):
    """Small lists (accounts, applications, numbers, tokens): limit and offset."""

    default_limit = 50
    max_limit = 500


class LogPagination(CursorPagination):
    """Logs (calls, events, deliveries, audit): a cursor, so deep pages stay as fast as page 1."""

    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"
    ordering = ("-created_at", "-id")

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
