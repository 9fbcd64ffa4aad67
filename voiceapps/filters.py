"""One filter per list: its page and its `GET /api/v1/...` take the same parameters.

Applications: q (name or provider id), account. Numbers: q (digits or description), account,
application (an id, or `none` for numbers linked to nothing). NCCO documents: search (name or
description), kind (`template` or `flow`). Provider accounts have no filters.
"""

from __future__ import annotations

import re
from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema_field

from portal.params import ModelIdFilter, SearchFilter
from voiceapps.models import Application, NccoDocument, Number, ProviderAccount


# Its schema is a string (an id or "none"); an override also carries the description.
@extend_schema_field({"type": "string", "description": "An id, or `none` for rows linked to "
                                                       "nothing."})
class IdOrNoneFilter(ModelIdFilter):
    """A related object by id, or `none`: the rows linked to nothing."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(null_value="none", **kwargs)


class ApplicationFilter(django_filters.FilterSet):
    q = SearchFilter("name", "provider_app_id", placeholder="Name or provider id",
                     help_text="Text the name or the provider's id contains.")
    account = ModelIdFilter(queryset=ProviderAccount.objects.all(), empty_label="All accounts",
                            help_text="Only this provider account's applications.")

    class Meta:
        model = Application
        fields: list[str] = []


class NumberFilter(django_filters.FilterSet):
    q = SearchFilter(method="filter_q", placeholder="Digits or description",
                     help_text="Digits the number holds, or text of its description.")
    account = ModelIdFilter(queryset=ProviderAccount.objects.all(), empty_label="All accounts",
                            help_text="Only this provider account's numbers.")
    application = IdOrNoneFilter(queryset=Application.objects.select_related("account"),
                                 empty_label="Any", null_label="Not linked")

    class Meta:
        model = Number
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Two accounts may each have a "Support" application.
        self.form.fields["application"].label_from_instance = \
            lambda application: f"{application.name} ({application.account.name})"

    def filter_q(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        text = value.strip()
        if not text:
            return qs
        match = Q(description__icontains=text)
        # "+44 20 7946" finds +442079460000: the stored number is digits only.
        digits = re.sub(r"[^0-9]", "", text)
        if digits:
            match |= Q(e164__contains=digits)
        return qs.filter(match)


class NccoDocumentFilter(django_filters.FilterSet):
    KINDS = (("template", "Templates"), ("flow", "Application flows"))

    search = SearchFilter("name", "description", placeholder="Name or description",
                          help_text="Part of the name or description.")
    kind = django_filters.ChoiceFilter(choices=KINDS, method="filter_kind", label="Show",
                                       empty_label="Templates and flows",
                                       help_text="Only templates, or only application flows.")

    class Meta:
        model = NccoDocument
        fields: list[str] = []

    def filter_kind(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(is_template=value == "template")
