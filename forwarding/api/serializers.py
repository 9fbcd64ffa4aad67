"""The forwarding API's shapes; forwarding/services.py validates and decides."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from forwarding.models import Delivery, DeliveryAttempt, EventType, Subscription
from forwarding.payloads import ForwardedEventSerializer
from portal.api.serializers import ObjectUrlField, StrictSerializer
from voiceapps.models import Application, ProviderAccount


class SubscriptionSerializer(serializers.ModelSerializer):
    url = serializers.CharField(
        read_only=True,
        help_text="Where events go ('' on the "
        "subscription that sends to each call's own event_url).",
    )
    href = ObjectUrlField("api_forwarding_subscription", help_text="This subscription in the API.")
    event_types = serializers.ListField(child=serializers.ChoiceField(EventType.choices))

    class Meta:
        model = Subscription
        fields = (
            "id",
            "href",
            "name",
            "url",
            "for_call_event_urls",
            "event_types",
            "account",
            "application",
            "tag",
            "enabled",
            "disabled_reason",
            "failing_since",
            "last_success_at",
            "created_at",
        )
        read_only_fields = fields


class SubscriptionWithSecretSerializer(SubscriptionSerializer):
    secret = serializers.SerializerMethodField(
        help_text="The signing secret (whsec_…): shown in this answer only."
    )

    class Meta(SubscriptionSerializer.Meta):
        fields = (*SubscriptionSerializer.Meta.fields, "secret")
        read_only_fields = fields

    def get_secret(self, subscription: Subscription) -> str:
        return self.context["secret"]


class SubscriptionWriteSerializer(StrictSerializer):
    resource_shape = SubscriptionWithSecretSerializer

    name = serializers.CharField(max_length=100)
    url = serializers.URLField(
        max_length=500,
        help_text="Passes the checks of provider base "
        "URLs: no internal address unless OUTBOUND_ALLOWED_HOSTS has it.",
    )
    event_types = serializers.ListField(
        child=serializers.ChoiceField(EventType.choices), min_length=1
    )
    account = serializers.PrimaryKeyRelatedField(
        queryset=ProviderAccount.objects.all(), required=False, allow_null=True
    )
    application = serializers.PrimaryKeyRelatedField(
        queryset=Application.objects.all(), required=False, allow_null=True
    )
    tag = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="Only calls with this tag: key, or key:value.",
    )


class SubscriptionUpdateSerializer(SubscriptionWriteSerializer):
    enabled = serializers.BooleanField(required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, partial=True, **kwargs)


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new signing secret: shown this once.")


class ForwardingAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ("at", "status_code", "latency_ms", "response_excerpt", "error")
        read_only_fields = fields


@extend_schema_field(ForwardedEventSerializer)
class ForwardedEventField(serializers.JSONField):
    """The payload as sent: the documented ForwardedEvent shape."""


class DeliverySerializer(serializers.ModelSerializer):
    payload = ForwardedEventField(read_only=True)
    tries = ForwardingAttemptSerializer(many=True, read_only=True)
    call = serializers.IntegerField(source="call_id", read_only=True)
    replay_of = serializers.IntegerField(source="replay_of_id", read_only=True, allow_null=True)

    class Meta:
        model = Delivery
        fields = (
            "id",
            "message_id",
            "event_type",
            "sequence",
            "call",
            "url",
            "status",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "last_status_code",
            "last_latency_ms",
            "last_error",
            "delivered_at",
            "created_at",
            "replay_of",
            "payload",
            "tries",
        )
        read_only_fields = fields


class ReplayRangeSerializer(StrictSerializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField(help_text="Up to, not including.")


class ReplayedSerializer(serializers.Serializer):
    queued = serializers.IntegerField(help_text="Deliveries queued again.")
