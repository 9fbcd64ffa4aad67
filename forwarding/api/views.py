"""The forwarding API (admins, as the pages): subscriptions, their delivery logs, replay.

Not `account_scoped`: a subscription may take every account's calls, so an account-limited
token is refused (portal/roles.py)."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from forwarding import selectors, services
from forwarding.api.serializers import (
    DeliverySerializer,
    ReplayedSerializer,
    ReplayRangeSerializer,
    SecretSerializer,
    SubscriptionSerializer,
    SubscriptionUpdateSerializer,
    SubscriptionWithSecretSerializer,
    SubscriptionWriteSerializer,
)
from forwarding.models import Delivery, Subscription
from portal.api.generics import ListApi, ObjectApi
from portal.api.pagination import LogPagination
from portal.api.responses import secret_response
from portal.api.serializers import NoBodySerializer, read_body
from portal.roles import AdminOnly
from portal.services import Actor

TAGS = ["forwarding"]


class SubscriptionListCreateApi(ListApi):
    tags = TAGS
    list_summary = "List event forwarding subscriptions"
    permission_classes = [AdminOnly]
    serializer_class = SubscriptionSerializer
    queryset = Subscription.objects.all()

    @extend_schema(
        tags=TAGS,
        request=SubscriptionWriteSerializer,
        examples=[OpenApiExample(
            "Every event of calls tagged with a ticket",
            value={"name": "CRM", "url": "https://crm.example.com/callboard/events",
                   "event_types": ["call.created", "call.status_changed", "call.ended",
                                   "call.recording"],
                   "tag": "ticket"},
            request_only=True,
        )],
        responses={201: OpenApiResponse(
            SubscriptionWithSecretSerializer,
            description="The subscription with its signing `secret` (`whsec_…`), shown this "
            "once; `Location` is its address.")},
        summary="Create a subscription (its signing secret is in this answer only)",
    )
    def post(self, request):
        values = read_body(SubscriptionWriteSerializer, request)
        subscription, secret = services.subscription_create(
            actor=Actor.from_request(request), values=values
        )
        body = SubscriptionWithSecretSerializer(
            subscription, context={"request": request, "secret": secret}
        ).data
        return secret_response(body, status=status.HTTP_201_CREATED,
                               headers={"Location": body["href"]})


class SubscriptionDetailApi(ObjectApi):
    tags = TAGS
    summaries = {
        "get": "Read a subscription",
        "patch": "Change a subscription (enabled: true turns a disabled one on)",
        "delete": "Delete a subscription, its log and what it has not sent",
    }
    permission_classes = [AdminOnly]
    serializer_class = SubscriptionSerializer
    update_serializer_class = SubscriptionUpdateSerializer
    queryset = Subscription.objects.all()

    def change(self, actor: Actor, obj: Subscription, values: dict[str, Any]) -> None:
        enabled = values.pop("enabled", None)
        if enabled is True and not obj.enabled:
            services.subscription_enable(actor=actor, subscription=obj)
        elif enabled is not None:
            values["enabled"] = enabled
        services.subscription_update(actor=actor, subscription=obj, values=values)

    def remove(self, actor: Actor, obj: Subscription) -> None:
        services.subscription_delete(actor=actor, subscription=obj)


class SubscriptionSecretApi(APIView):
    permission_classes = [AdminOnly]

    @extend_schema(
        tags=TAGS,
        request=NoBodySerializer,
        responses=SecretSerializer,
        summary="Replace the signing secret (the new one is in this answer only)",
    )
    def post(self, request, pk: int):
        subscription = get_object_or_404(Subscription, pk=pk)
        read_body(NoBodySerializer, request)
        secret = services.subscription_roll_secret(
            actor=Actor.from_request(request), subscription=subscription
        )
        return secret_response({"secret": secret})


class SubscriptionDeliveriesApi(ListApi):
    tags = TAGS
    list_summary = "A subscription's delivery log, newest first, with every attempt"
    permission_classes = [AdminOnly]
    serializer_class = DeliverySerializer
    pagination_class = LogPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator asks too
            return Delivery.objects.none()
        subscription = get_object_or_404(Subscription, pk=self.kwargs["pk"])
        return selectors.delivery_log(subscription=subscription).prefetch_related("tries")


class SubscriptionReplayApi(APIView):
    permission_classes = [AdminOnly]

    @extend_schema(
        tags=TAGS,
        request=ReplayRangeSerializer,
        responses={202: ReplayedSerializer},
        summary="Send again every delivery made in a time range, in order",
    )
    def post(self, request, pk: int):
        subscription = get_object_or_404(Subscription, pk=pk)
        data = read_body(ReplayRangeSerializer, request)
        copies = services.deliveries_replay_range(
            actor=Actor.from_request(request),
            subscription=subscription,
            since=data["since"],
            until=data["until"],
        )
        return Response({"queued": len(copies)}, status=status.HTTP_202_ACCEPTED)


class DeliveryReplayApi(APIView):
    permission_classes = [AdminOnly]

    @extend_schema(
        tags=TAGS,
        request=NoBodySerializer,
        responses={202: DeliverySerializer},
        summary="Send one delivery again (same webhook-id)",
    )
    def post(self, request, pk: int):
        delivery = get_object_or_404(Delivery.objects.select_related("subscription"), pk=pk)
        read_body(NoBodySerializer, request)
        copy = services.delivery_replay(actor=Actor.from_request(request), delivery=delivery)
        return Response(DeliverySerializer(copy).data, status=status.HTTP_202_ACCEPTED)
