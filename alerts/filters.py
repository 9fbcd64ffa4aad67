"""The alert page, and `GET /api/v1/alerts`, take the same parameters."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from alerts.models import Alert, AlertRule
from portal.params import ModelIdFilter, moment_range


class AlertFilter(django_filters.FilterSet):
    STATES = (("open", "Open"), ("resolved", "Resolved"))

    state = django_filters.ChoiceFilter(choices=STATES, method="filter_state",
                                        empty_label="Open and resolved", label="State")
    rule = ModelIdFilter(queryset=AlertRule.objects.all(), empty_label="Any rule")
    since, until = moment_range("opened_at", labels=("Opened from", "Opened until"))

    class Meta:
        model = Alert
        fields: list[str] = []

    def filter_state(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(resolved_at__isnull=value == "open")
