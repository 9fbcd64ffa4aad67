"""Alerts (`GET /api/v1/alerts`, the alert page's filters) and the admins' rules and channels."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts import selectors, services
from alerts.api.serializers import (
    AlertChannelCreatedSerializer,
    AlertChannelSerializer,
    AlertChannelUpdateSerializer,
    AlertChannelWriteSerializer,
    AlertNotificationSerializer,
    AlertRuleSerializer,
    AlertRuleUpdateSerializer,
    AlertRuleWriteSerializer,
    AlertSerializer,
)
from alerts.filters import AlertFilter
from alerts.models import AlertChannel, AlertRule
from portal.api.generics import CreateMixin, ListApi, ObjectApi
from portal.api.responses import location, secret_response
from portal.api.serializers import NoBodySerializer, read_body
from portal.roles import AdminOnly
from portal.services import Actor


class AlertListApi(ListApi):
    list_summary = "List alerts, open ones first (the alert page's filters)"
    serializer_class = AlertSerializer
    filterset_class = AlertFilter  # the alert page takes the same parameters

    def get_queryset(self):
        return selectors.alert_list()


class AlertRuleListCreateApi(CreateMixin, ListApi):
    list_summary = "List alert rules"
    create_summary = "Create an alert rule (audited)"
    permission_classes = [AdminOnly]
    serializer_class = AlertRuleSerializer
    create_serializer_class = AlertRuleWriteSerializer
    created_route = "api_alert_rule"
    queryset = AlertRule.objects.prefetch_related("channels")

    def create(self, actor: Actor, values: dict[str, Any]) -> AlertRule:
        channels = values.pop("channels", ())
        return services.alert_rule_create(actor=actor, values=values, channels=channels)


class AlertRuleDetailApi(ObjectApi):
    summaries = {
        "get": "Read an alert rule",
        "patch": "Change an alert rule (audited)",
        "delete": "Delete an alert rule and its alerts",
    }
    permission_classes = [AdminOnly]
    serializer_class = AlertRuleSerializer
    update_serializer_class = AlertRuleUpdateSerializer
    queryset = AlertRule.objects.all()

    def change(self, actor: Actor, obj: AlertRule, values: dict[str, Any]) -> None:
        channels = values.pop("channels", None)
        services.alert_rule_update(actor=actor, rule=obj, values=values, channels=channels)

    def remove(self, actor: Actor, obj: AlertRule) -> None:
        services.alert_rule_delete(actor=actor, rule=obj)


class AlertChannelListCreateApi(ListApi):
    list_summary = "List alert channels"
    permission_classes = [AdminOnly]
    serializer_class = AlertChannelSerializer
    queryset = AlertChannel.objects.all()

    @extend_schema(request=AlertChannelWriteSerializer,
                   responses={201: AlertChannelCreatedSerializer},
                   summary="Create an alert channel; a signed webhook's secret is returned once")
    def post(self, request):
        values = read_body(AlertChannelWriteSerializer, request)
        channel, secret = services.alert_channel_create(actor=Actor.from_request(request),
                                                        values=values)
        channel.secret = secret
        return secret_response(AlertChannelCreatedSerializer(channel).data,
                               status=status.HTTP_201_CREATED,
                               headers=location(request, "api_alert_channel", channel.pk))


class AlertChannelDetailApi(ObjectApi):
    summaries = {
        "get": "Read an alert channel",
        "patch": "Change an alert channel (its kind stays)",
        "delete": "Delete an alert channel",
    }
    permission_classes = [AdminOnly]
    serializer_class = AlertChannelSerializer
    update_serializer_class = AlertChannelUpdateSerializer
    queryset = AlertChannel.objects.all()

    def change(self, actor: Actor, obj: AlertChannel, values: dict[str, Any]) -> None:
        services.alert_channel_update(actor=actor, channel=obj, values=values)

    def remove(self, actor: Actor, obj: AlertChannel) -> None:
        services.alert_channel_delete(actor=actor, channel=obj)


class AlertChannelTestApi(APIView):
    permission_classes = [AdminOnly]

    @extend_schema(request=NoBodySerializer, responses=AlertNotificationSerializer,
                   summary="Send a test notification now; `error` says why it failed")
    def post(self, request, pk: int):
        read_body(NoBodySerializer, request)
        channel = get_object_or_404(AlertChannel, pk=pk)
        sent = services.alert_channel_test(actor=Actor.from_request(request), channel=channel)
        return Response(AlertNotificationSerializer(sent).data)
