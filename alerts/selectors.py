"""Reads for the alert page, its live updates and the API."""

from __future__ import annotations

from datetime import datetime

from django.db.models import F, Max, QuerySet

from alerts.models import Alert


def alert_list() -> QuerySet[Alert]:
    """Open alerts first, then past ones, newest first; with their notifications."""
    return (Alert.objects.select_related("rule")
            .prefetch_related("notifications__channel")
            .order_by(F("resolved_at").desc(nulls_first=True), "-opened_at", "-id"))


def last_alert_change() -> datetime | None:
    return Alert.objects.aggregate(latest=Max("updated_at"))["latest"]
