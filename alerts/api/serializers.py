from __future__ import annotations

from rest_framework import serializers

from alerts.checks import CHECKS, KIND_CHOICES
from alerts.models import Alert, AlertChannel, AlertNotification, AlertRule, ChannelKind
from portal.api.serializers import StrictSerializer


class AlertNotificationSerializer(serializers.ModelSerializer):
    channel = serializers.CharField(source="channel.name", read_only=True)

    class Meta:
        model = AlertNotification
        fields = ["event", "channel", "created_at", "sent_at", "error"]
        read_only_fields = fields


class AlertSerializer(serializers.ModelSerializer):
    rule = serializers.CharField(source="rule.name", read_only=True)
    rule_id = serializers.IntegerField(read_only=True)
    kind = serializers.CharField(source="rule.kind", read_only=True)
    notifications = AlertNotificationSerializer(many=True, read_only=True)

    class Meta:
        model = Alert
        fields = ["id", "rule", "rule_id", "kind", "subject", "summary", "value", "peak",
                  "evidence_url", "opened_at", "last_seen_at", "notified_at", "resolved_at",
                  "notifications"]
        read_only_fields = fields


class AlertRuleSerializer(serializers.ModelSerializer):
    channels = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = AlertRule
        fields = ["id", "name", "kind", "enabled", "threshold", "window_seconds",
                  "renotify_seconds", "channels", "created_at"]
        read_only_fields = fields


class AlertRuleWriteSerializer(StrictSerializer):
    resource_shape = AlertRuleSerializer

    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=KIND_CHOICES)
    enabled = serializers.BooleanField(required=False)
    threshold = serializers.FloatField(
        min_value=0, required=False,
        help_text="The value at or above which the rule fires, in its kind's unit: "
        + "; ".join(f"{kind}: {check.threshold_help} (default {check.default_threshold:g})"
                    for kind, check in CHECKS.items())
        + ". Omitted: the kind's default.")
    window_seconds = serializers.IntegerField(min_value=60, max_value=7 * 24 * 3600,
                                              required=False)
    renotify_seconds = serializers.IntegerField(min_value=60, required=False)
    channels = serializers.PrimaryKeyRelatedField(queryset=AlertChannel.objects.all(),
                                                  many=True, required=False)


class AlertRuleUpdateSerializer(AlertRuleWriteSerializer):
    name = serializers.CharField(max_length=100, required=False)
    kind = serializers.ChoiceField(choices=KIND_CHOICES, required=False)


class AlertChannelSerializer(serializers.ModelSerializer):
    target = serializers.CharField(source="shown_target", read_only=True,
                                   help_text="E-mail addresses, or the URL's host and last four "
                                             "characters (a webhook URL is a credential).")
    secret_last4 = serializers.CharField(read_only=True)

    class Meta:
        model = AlertChannel
        fields = ["id", "name", "kind", "target", "secret_last4", "enabled", "created_at"]
        read_only_fields = fields


class AlertChannelCreatedSerializer(AlertChannelSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="A signed webhook's secret, returned once (else empty).")

    class Meta(AlertChannelSerializer.Meta):
        fields = [*AlertChannelSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class AlertChannelWriteSerializer(StrictSerializer):
    resource_shape = AlertChannelCreatedSerializer

    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=ChannelKind.choices)
    target = serializers.CharField(max_length=1000)
    enabled = serializers.BooleanField(required=False)


class AlertChannelUpdateSerializer(StrictSerializer):
    resource_shape = AlertChannelSerializer

    name = serializers.CharField(max_length=100, required=False)
    target = serializers.CharField(max_length=1000, required=False)
    enabled = serializers.BooleanField(required=False)
