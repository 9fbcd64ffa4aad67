"""Reads for forwarding's pages and API."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Max, Q, QuerySet

from forwarding.models import Delivery, DeliveryStatus, Subscription


def subscription_list() -> QuerySet[Subscription]:
    return Subscription.objects.select_related("account", "application").annotate(
        pending=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
        failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
    ).order_by("name", "id")  # Meta.ordering does not apply to an aggregate


def delivery_log(*, subscription: Subscription) -> QuerySet[Delivery]:
    """The subscription's deliveries, newest first."""
    return subscription.deliveries.order_by("-id")


def last_change(*, subscription: Subscription) -> datetime | None:
    """When the delivery log last changed (a delivery made or attempted): the live token."""
    found = subscription.deliveries.aggregate(made=Max("created_at"), tried=Max("last_attempt_at"))
    moments = [moment for moment in found.values() if moment is not None]
    return max(moments) if moments else None
