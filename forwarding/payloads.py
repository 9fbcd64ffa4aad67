"""The one provider-neutral JSON shape Callboard POSTs for every call event (version 1).

Standard Webhooks' payload structure: `type`, `timestamp` (when it happened), `data`.
`data.sequence` grows with each event of a call, so a receiver can order what it gets;
`data.call` is the call after the change, in Callboard's words whatever the provider.
The serializers below only document the shape (the OpenAPI document's `ForwardedEvent`);
`event_payload` builds it without them, since it runs inside every webhook's transaction.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from calls.models import AnsweredBy, Call, CallEvent, CallStatus, Direction
from forwarding.models import EventType
from voiceapps.providers.base import ParsedEvent

SCHEMA_VERSION = 1


def event_payload(
    *,
    event_type: str,
    call: Call,
    sequence: int,
    at: datetime,
    event: CallEvent | None = None,
    previous_status: str = "",
    parsed: ParsedEvent | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "sequence": sequence,
        "call": call_data(call),
        "previous_status": previous_status or None,
        "event": None,
    }
    if event is not None:
        data["event"] = {
            "kind": event.kind,
            "source": event.source,
            "provider_status": event.raw_status,
            "provider_time": _moment(event.provider_time),
            "received_at": _moment(event.received_at),
        }
    if event_type == EventType.RECORDING:
        data["recording_url"] = parsed.recording_url if parsed is not None else ""
    if event_type == EventType.CONTROL and event is not None:
        data["action"] = {
            "name": event.raw_status,
            "outcome": event.payload.get("outcome", ""),
            "by": event.payload.get("by", ""),
        }
    return {"type": event_type, "version": SCHEMA_VERSION, "timestamp": _moment(at), "data": data}


def call_data(call: Call) -> dict[str, Any]:
    account = call.account
    application = call.application
    return {
        "id": call.pk,
        "url": settings.PUBLIC_BASE_URL.rstrip("/") + _call_path().format(call.pk),
        "direction": call.direction,
        "status": call.status,
        "answered_by": call.answered_by or None,
        "provider": call.provider,
        "account": {"id": account.pk, "name": account.name},
        "application": ({"id": application.pk, "name": application.name} if application else None),
        "from": call.from_number,
        "to": call.to_display,
        "tag": call.tag,
        "provider_call_id": call.provider_call_id,
        "conversation_id": call.conversation_id,
        "created_at": _moment(call.created_at),
        "answered_at": _moment(call.answered_at),
        "ended_at": _moment(call.ended_at),
        "duration_seconds": call.duration_seconds,
        "price": None if call.price is None else str(call.price),
        "sip_code": call.sip_code,
        "disconnected_by": call.disconnected_by,
        "failure_detail": call.failure_detail,
    }


@functools.cache
def _call_path() -> str:
    """The API path of a call, `{}` for its id: resolving the URL for every forwarded event
    cost a tenth of writing it."""
    any_id = 987654321
    return reverse("api_call", args=[any_id]).replace(str(any_id), "{}")


def _moment(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


# -- the documented shape ---------------------------------------------------------------------


class _Named(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


def _nullable_object(properties: dict[str, Any], description: str = "") -> type:
    """A JSON field documented as an object or null: drf-spectacular writes a nullable nested
    serializer as `allOf` + `nullable`, which OpenAPI 3.0 validators read as never null."""
    schema = {"type": "object", "nullable": True, "properties": properties,
              "required": list(properties), "description": description}
    return extend_schema_field(schema)(type("NullableObject", (serializers.JSONField,), {}))


_STRING = {"type": "string"}
_MOMENT = {"type": "string", "format": "date-time"}
_NullableApplication = _nullable_object({"id": {"type": "integer"}, "name": _STRING})
_NullableEvent = _nullable_object({
    "kind": {**_STRING, "description": "status, amd, record, control, submit, …"},
    "source": {**_STRING, "description": "webhook (the provider), callboard, control."},
    "provider_status": _STRING,
    "provider_time": {**_MOMENT, "nullable": True},
    "received_at": _MOMENT,
}, "The stored event behind the change.")


class ForwardedCallSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField(help_text="The call in the API (GET it with a token).")
    direction = serializers.ChoiceField(Direction.choices)
    status = serializers.ChoiceField(CallStatus.choices)
    answered_by = serializers.ChoiceField(
        AnsweredBy.choices, allow_null=True,
        help_text="null until known (the API's Call says \"\").")
    provider = serializers.CharField(help_text="vonage, kpn, voicegateway, sandbox, …")
    account = _Named()
    application = _NullableApplication()
    from_ = serializers.CharField(allow_blank=True, help_text="The API's Call `from_number`.")
    to = serializers.CharField(
        allow_blank=True,
        help_text="Who was called, as text: the API's Call `to_display` (its `to` is the "
        "endpoint object).")
    tag = serializers.DictField()
    provider_call_id = serializers.CharField(allow_blank=True)
    conversation_id = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    duration_seconds = serializers.IntegerField(allow_null=True)
    price = serializers.DecimalField(
        max_digits=14,
        decimal_places=8,
        allow_null=True,
        help_text="EUR, as the provider reported it.",
    )
    sip_code = serializers.IntegerField(allow_null=True)
    disconnected_by = serializers.CharField(allow_blank=True)
    failure_detail = serializers.CharField(allow_blank=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")  # a Python keyword
        return fields


class _ActionSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="hangup, mute, transfer, talk, …")
    outcome = serializers.CharField(help_text="accepted, or refused by the provider.")
    by = serializers.CharField()


class _DataSerializer(serializers.Serializer):
    sequence = serializers.IntegerField(
        help_text="Grows with each event of the call: order what you receive by it."
    )
    call = ForwardedCallSerializer()
    previous_status = serializers.ChoiceField(CallStatus.choices, allow_null=True)
    event = _NullableEvent()
    recording_url = serializers.CharField(
        required=False, allow_blank=True,
        help_text="call.recording only: the provider's address of the file, which only the "
        "provider's credentials fetch. Callboard fetches and keeps its own copy (usually within "
        "seconds): GET /api/v1/recordings with the call log's filters lists it, with its "
        "`download_url`.",
    )
    action = _ActionSerializer(required=False, help_text="call.control only.")


class ForwardedEventSerializer(serializers.Serializer):
    """What Callboard POSTs to a subscription's URL (JSON, UTF-8), signed per Standard
    Webhooks: headers `webhook-id` (the same on every retry and replay of one event),
    `webhook-timestamp` (Unix seconds of the attempt) and `webhook-signature`
    (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` with the secret's bytes)."""

    type = serializers.ChoiceField(EventType.choices)
    version = serializers.ChoiceField([SCHEMA_VERSION], help_text="Of this shape.")
    timestamp = serializers.DateTimeField(help_text="When the change happened.")
    data = _DataSerializer()
