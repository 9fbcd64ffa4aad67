"""The API's filter backend: a list reads its FilterSet's parameters and its paging, and
refuses any other, as a serializer refuses an unknown field."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend

from portal.api.serializers import refuse_unknown_parameters

# The query parameters DRF's paginators read, whichever a view's paginator is.
PAGING_ATTRIBUTES = (
    "limit_query_param",
    "offset_query_param",
    "cursor_query_param",
    "page_query_param",
    "page_size_query_param",
)


class StrictFilterBackend(DjangoFilterBackend):
    """A mistyped filter (`?stauts=failed`) is a 400 naming it, never a wider list or export."""

    def filter_queryset(self, request: Any, queryset: QuerySet, view: Any) -> QuerySet:
        refuse_unknown_parameters(request, self.allowed_parameters(view, queryset))
        return super().filter_queryset(request, queryset, view)

    def allowed_parameters(self, view: Any, queryset: QuerySet) -> set[str]:
        filterset_class = self.get_filterset_class(view, queryset)
        allowed = set(filterset_class.base_filters) if filterset_class else set()
        return allowed | paging_parameters(getattr(view, "paginator", None))


def paging_parameters(paginator: Any) -> set[str]:
    """The query parameters `paginator` reads (none without one)."""
    names = (getattr(paginator, attribute, None) for attribute in PAGING_ATTRIBUTES)
    return {name for name in names if name}
