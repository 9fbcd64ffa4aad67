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


class ReceivedPagination(LogPagination):
    """Logs of what arrived (webhook deliveries): newest arrival first."""

    ordering = ("-received_at", "-id")


class StoryPagination(LogPagination):
    """A story (a call's events): oldest arrival first, as it is read."""

    ordering = ("received_at", "id")
