"""Reads for forwarding's pages and API."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Case, Count, Max, OuterRef, Q, QuerySet, Subquery, When

from forwarding.models import Delivery, DeliveryStatus, Subscription


def subscription_list() -> QuerySet[Subscription]:
    return Subscription.objects.select_related("account", "application").annotate(
        pending=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
        failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
    ).order_by("name", "id")  # Meta.ordering does not apply to an aggregate


def delivery_log(*, subscription: Subscription) -> QuerySet[Delivery]:
    """The subscription's deliveries, newest first; a pending one's `waits_for_id` and
    `waits_for_sequence` name the earlier pending event of its call it is queued behind (the
    head of the call's queue), None when it is next."""
    head = Delivery.objects.filter(
        subscription=OuterRef("subscription"), call=OuterRef("call"),
        status=DeliveryStatus.PENDING, id__lt=OuterRef("id"),
    ).order_by("id")
    waits = Q(status=DeliveryStatus.PENDING)
    return subscription.deliveries.annotate(
        waits_for_id=Case(When(waits, then=Subquery(head.values("id")[:1]))),
        waits_for_sequence=Case(When(waits, then=Subquery(head.values("sequence")[:1]))),
    ).order_by("-id")


def last_change(*, subscription: Subscription) -> datetime | None:
    """When the delivery log last changed (a delivery made or attempted): the live token."""
    found = subscription.deliveries.aggregate(made=Max("created_at"), tried=Max("last_attempt_at"))
    moments = [moment for moment in found.values() if moment is not None]
    return max(moments) if moments else None
