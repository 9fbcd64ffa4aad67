"""The logs in the API: a call's events and the webhook deliveries, cursor-paginated."""

from __future__ import annotations

from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView

from calls.filters import DeliveryFilter
from calls.models import Call, CallEvent, WebhookDelivery
from portal.api.pagination import LogPagination
from portal.roles import OperatorOnly, limit_to_token_accounts


class EventPagination(LogPagination):
    ordering = ("received_at", "id")  # a story reads oldest first


class DeliveryPagination(LogPagination):
    ordering = ("-received_at", "-id")


class CallEventSerializer(serializers.ModelSerializer):
    delivery = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True,
        help_text="The webhook delivery it came in (null for Callboard's own events).")

    unverified = serializers.BooleanField(
        read_only=True,
        help_text="Accepted without a signature check: its account has no signature secret.")

    class Meta:
        model = CallEvent
        fields = ["id", "call", "kind", "status", "raw_status", "provider_time", "received_at",
                  "source", "is_duplicate", "out_of_order", "out_of_range", "unverified",
                  "delivery", "payload"]
        read_only_fields = fields
        extra_kwargs = {
            "status": {"help_text": "Ours: the call status on status events, answered_by on "
                                    "AMD events."},
            "out_of_range": {"help_text": "Values the call could not hold, by field, as sent; "
                                          "left out of the call, the rest applied."},
        }


class WebhookDeliverySerializer(serializers.ModelSerializer):
    account = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    body = serializers.SerializerMethodField(help_text="The body as received (UTF-8 text).")
    calls = serializers.SerializerMethodField(help_text="The calls its event was applied to.")

    class Meta:
        model = WebhookDelivery
        fields = ["id", "account", "endpoint", "method", "path", "query", "headers", "body",
                  "received_at", "verified", "unsigned", "rejection_reason", "signed_at",
                  "body_sha256", "applied_at", "apply_error", "apply_attempts", "is_replay",
                  "calls"]
        extra_kwargs = {"unsigned": {"help_text": "UNVERIFIED: accepted without a signature "
                                                  "check (its account has no secret)."}}
        read_only_fields = fields

    def get_body(self, delivery: WebhookDelivery) -> str:
        return bytes(delivery.body).decode("utf-8", errors="replace")

    def get_calls(self, delivery: WebhookDelivery) -> list[int]:
        return sorted({event.call_id for event in delivery.events.all()})


class CallEventListApi(GenericAPIView):
    account_scoped = True
    serializer_class = CallEventSerializer
    pagination_class = EventPagination
    # The delivery's flag only: its row holds the raw body.
    queryset = CallEvent.objects.annotate(
        unverified=Coalesce(F("delivery__unsigned"), Value(False)))

    @extend_schema(responses=CallEventSerializer(many=True),
                   summary="A call's events, oldest first, duplicates and late ones marked")
    def get(self, request, pk: int):
        call = get_object_or_404(limit_to_token_accounts(request, Call.objects), pk=pk)
        page = self.paginate_queryset(self.get_queryset().filter(call=call))
        return self.get_paginated_response(CallEventSerializer(page, many=True).data)


class WebhookDeliveryListApi(GenericAPIView):
    """Every webhook request as received; `outcome=rejected` lists the refused ones."""

    permission_classes = [OperatorOnly]
    serializer_class = WebhookDeliverySerializer
    pagination_class = DeliveryPagination
    filterset_class = DeliveryFilter
    queryset = WebhookDelivery.objects.select_related("account").prefetch_related("events")

    @extend_schema(responses=WebhookDeliverySerializer(many=True),
                   summary="Webhook deliveries, newest first (operators)")
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)
