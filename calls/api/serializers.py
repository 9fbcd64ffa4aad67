"""The calls API's shapes: calls, call profiles, events, deliveries and control bodies.

Shapes only; calls/services/ validates and decides."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from calls.models import Call, CallEvent, WebhookDelivery
from calls.selectors import DASHBOARD_RANGES, DEFAULT_RANGE
from calls.services.control import LEVEL_RANGE, LEVEL_TEXT, available_actions
from portal.api.serializers import (
    JsonListField,
    ObjectField,
    ObjectUrlField,
    StrictSerializer,
    object_url,
)
from portal.params import BIGINT_MAX
from voiceapps.models import Application, CallProfile, NccoDocument, ProviderAccount
from voiceapps.ncco.validator import TALK_TEXT_LIMIT
from voiceapps.providers.options import CATALOG
from voiceapps.providers.registry import KIND_CHOICES

TO_HELP = (
    'The endpoint to call, by type: {"type": "phone", "number": "+31201234567", '
    '"dtmf_answer": "p1"}, {"type": "sip", "uri": "sip:a@b", "headers": {}, '
    '"standard_headers": {}}, {"type": "websocket", "uri": "wss://…", "content_type": '
    '"audio/l16;rate=16000", "headers": {}}, {"type": "app", "user": "jamie"}, '
    '{"type": "vbc", "extension": "123"} (Vonage); {"type": "phone", "number": …, "trunk": …}, '
    '{"type": "sip", "uri": …}, {"type": "user", "name": …} (Voice Gateway).'
)
FLOW_HELP = (
    'How the call flow is found: {"type": "application"} (the application\'s own flow: '
    'Callboard\'s hosted NCCO, its answer URL, or the Voice Gateway application), '
    '{"type": "ncco", "ncco": [...]} (inline NCCO; Vonage and the sandbox), or '
    '{"type": "answer_url", "url": "https://…", "method": "GET"}.'
)
# Derived from the option catalog, so a provider's new option is documented with it.
OPTIONS_HELP = (
    "Provider options by the provider's own names (Place a call's Advanced and the call profile "
    "form explain each). "
    + "; ".join(f"{label}: {', '.join(o.name for o in CATALOG if kind in o.providers)}"
                for kind, label in KIND_CHOICES)
    + ". event_url: Callboard forwards the call's events there, signed (the provider still "
    "reports to Callboard). Any other option is refused with a 400 naming it."
)


class RefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CallSerializer(serializers.ModelSerializer):
    url = ObjectUrlField("api_call", help_text="This call in the API.")
    page_url = ObjectUrlField("call_detail", help_text="This call in the portal.")
    account = RefSerializer(read_only=True)
    application = RefSerializer(read_only=True, allow_null=True)
    to = serializers.JSONField(source="to_endpoint", read_only=True,
                               help_text="The endpoint as given (phone numbers in E.164).")
    placed_by = serializers.SlugRelatedField(slug_field="username", read_only=True,
                                             allow_null=True)
    placed_via_token = serializers.SlugRelatedField(
        slug_field="name", read_only=True, allow_null=True,
        help_text="The API token's name when placed through the API; null from the portal.")
    ncco_version = serializers.IntegerField(
        source="ncco_version.number", read_only=True, allow_null=True,
        help_text="The number of the saved NCCO's version the call ran (1, 2, … as the "
                  "portal shows \"v1\"); null when it ran no saved NCCO.")
    ncco_version_id = serializers.PrimaryKeyRelatedField(
        source="ncco_version", read_only=True, allow_null=True,
        help_text="That version's id (a database key, not its number).")
    ncco_document = RefSerializer(
        source="ncco_version.document", read_only=True, allow_null=True,
        help_text="The saved NCCO the version belongs to: its versions are at "
                  "/api/v1/nccos/{id}/versions/{ncco_version}.")
    recordings = serializers.SerializerMethodField(
        help_text="This call's recordings in the API: the recordings list for this call "
                  "(`call`), each with its stored audio's address.")
    actions = serializers.SerializerMethodField(
        help_text="Control actions its provider takes in its current state, such as hangup, "
                  "mute, transfer, talk, talk_stop, stream, stream_stop, dtmf; [] once ended.")

    class Meta:
        model = Call
        fields = [
            "id", "url", "page_url", "status", "provider_status", "answered_by", "outcome_unknown",
            "failure_detail", "account", "provider", "application", "ncco_version",
            "ncco_version_id", "ncco_document", "direction",
            "from_number", "to", "to_display", "tag", "flow", "options", "placed_by",
            "placed_via_token", "provider_call_id", "conversation_id", "sip_call_id", "attempts",
            "created_at", "submitted_at", "ringing_at", "answered_at", "ended_at",
            "duration_seconds", "rate", "price", "network", "sip_code", "disconnected_by",
            "provider_request", "provider_response", "updated_at", "recordings", "actions",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_recordings(self, call: Call) -> str:
        # The list's route by name: calls do not import the recordings app.
        return f"{object_url(self.context, 'api_recordings')}?call={call.pk}"

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_actions(self, call: Call) -> list[str]:
        return available_actions(call)


class CallCreateSerializer(StrictSerializer):
    resource_shape = CallSerializer

    account = serializers.PrimaryKeyRelatedField(
        queryset=ProviderAccount.objects.all(), required=False, allow_null=True,
        help_text="The provider account; may be left out when an application is given.")
    application = serializers.PrimaryKeyRelatedField(
        queryset=Application.objects.all(), required=False, allow_null=True,
        help_text="The application (required for Vonage, KPN and the sandbox).")
    from_number = serializers.CharField(
        required=False, allow_blank=True, max_length=40,
        help_text="One of the account's numbers, in international format.")
    random_from_number = serializers.BooleanField(
        required=False, default=False,
        help_text="Vonage and the sandbox: let the provider pick one of the application's "
                  "numbers instead of from_number.")
    to = ObjectField(help_text=TO_HELP)
    flow = ObjectField(required=False, default=lambda: {"type": "application"},
                       help_text=FLOW_HELP)
    options = ObjectField(required=False, default=dict, help_text=OPTIONS_HELP)
    tag = ObjectField(required=False, default=dict,
                      help_text="Key-value metadata (text values): {{custom.NAME}} in hosted "
                                "NCCOs; sent as `tag` to Voice Gateway.")
    profile = serializers.PrimaryKeyRelatedField(
        queryset=CallProfile.objects.all(), required=False, allow_null=True,
        help_text="A call profile whose options apply first; options given here win.")


class CallProfileSerializer(serializers.ModelSerializer):
    class Meta:
        model = CallProfile
        fields = ["id", "name", "kind", "description", "options", "created_at", "updated_at"]
        read_only_fields = fields


class CallProfileCreateSerializer(StrictSerializer):
    resource_shape = CallProfileSerializer

    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=KIND_CHOICES,
                                   help_text="The provider kind whose options the profile holds.")
    description = serializers.CharField(max_length=300, required=False, allow_blank=True,
                                        default="")
    options = ObjectField(help_text=OPTIONS_HELP)


class CallProfileUpdateSerializer(StrictSerializer):
    resource_shape = CallProfileSerializer

    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)
    options = ObjectField(required=False, help_text=OPTIONS_HELP)


# Logs ---------------------------------------------------------------------------------------

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


# Call control bodies ------------------------------------------------------------------------

def _loop() -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False, help_text="Times to play: 1 by default, 0 until stopped or hung up.")


def _level() -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=2, decimal_places=1, required=False, coerce_to_string=False,
        min_value=LEVEL_RANGE[0], max_value=LEVEL_RANGE[1],
        help_text=f"Volume {LEVEL_TEXT} (Vonage, KPN, sandbox).")


class TransferSerializer(StrictSerializer):
    ncco = JsonListField(
        required=False,
        help_text="An NCCO (array of actions) to run instead of the current flow; checked "
                  "like the NCCO editor's, placeholders filled for the call. Vonage and the "
                  "sandbox.")
    ncco_document = serializers.PrimaryKeyRelatedField(
        queryset=NccoDocument.objects.all(), required=False,
        help_text="A saved NCCO document: its latest version, filled in for the call.")
    url = serializers.CharField(
        required=False,
        help_text="A URL returning the new NCCO (Vonage, KPN, sandbox) or jambonz verbs "
                  "(Voice Gateway, as the new call_hook).")


class TalkSerializer(StrictSerializer):
    text = serializers.CharField(max_length=TALK_TEXT_LIMIT, trim_whitespace=False)
    language = serializers.CharField(required=False,
                                     help_text="BCP-47 tag such as en-US.")
    style = serializers.IntegerField(required=False,
                                     help_text="Vonage voice style of the language.")
    voice = serializers.CharField(
        required=False,
        help_text="Voice Gateway: the text-to-speech voice as the application's vendor names "
                  "it (such as de-DE-Standard-A); required with `language`, which it needs "
                  "too (without them the application's voice speaks).")
    loop = _loop()
    level = _level()


class StreamSerializer(StrictSerializer):
    stream_url = serializers.CharField(help_text="An audio file URL (MP3 or WAV).")
    loop = _loop()
    level = _level()


class DtmfSerializer(StrictSerializer):
    digits = serializers.CharField(
        trim_whitespace=False,
        help_text="0-9, * and #; Vonage, KPN and the sandbox also take p (a 500 ms pause).")


class ListenSerializer(StrictSerializer):
    status = serializers.ChoiceField(
        choices=["pause", "silence", "resume"],
        help_text="Voice Gateway: pause, silence or resume the call's listen stream.")


class ControlResultSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What was done, in a sentence.")
    event = CallEventSerializer(help_text="The control event on the call's timeline.")
    call = CallSerializer()


# The dashboard -------------------------------------------------------------------------------

class DashboardQuerySerializer(StrictSerializer):
    range = serializers.ChoiceField(
        choices=list(DASHBOARD_RANGES), default=DEFAULT_RANGE,
        help_text="The period summed up, ending now: 24h (the default) or 7d, as the "
                  "dashboard's switch.")


class StatusCountSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="The call status these calls have.")
    label = serializers.CharField(help_text="The dashboard's words for them, such as "
                                            "\"Failed: cannot_route\".")
    count = serializers.IntegerField()


class AnsweredByCountSerializer(serializers.Serializer):
    answered_by = serializers.CharField(source="status",
                                        help_text="human, machine or unknown.")
    label = serializers.CharField()
    count = serializers.IntegerField()


class HourCountSerializer(serializers.Serializer):
    hour = serializers.DateTimeField(help_text="The start of the hour.")
    total = serializers.IntegerField(help_text="Calls created in that hour.")
    answered = serializers.IntegerField(help_text="How many of them were answered.")


class DashboardSerializer(serializers.Serializer):
    range = serializers.CharField(source="range_key")
    label = serializers.CharField(source="range_label")
    since = serializers.DateTimeField(help_text="The period's start: calls created since.")
    until = serializers.DateTimeField(help_text="Its end: when the figures were read.")
    total = serializers.IntegerField(help_text="Calls created in the period.")
    finished = serializers.IntegerField(help_text="Of those, how many have an outcome.")
    answered = serializers.IntegerField(help_text="Finished calls that were answered.")
    asr = serializers.FloatField(
        allow_null=True, help_text="Answer-seizure ratio: answered / finished, in percent "
                                   "(one decimal); null before any call finished.")
    average_answered = serializers.IntegerField(
        allow_null=True, help_text="Average duration of answered calls, in seconds; null "
                                   "before any.")
    outcomes = StatusCountSerializer(many=True, help_text="Finished calls by outcome.")
    answered_by = AnsweredByCountSerializer(
        source="amd", many=True, help_text="Who answered, as machine detection said; [] when "
                                           "no call used it.")
    failures = StatusCountSerializer(many=True, help_text="The top six failure reasons.")
    hours = HourCountSerializer(many=True, help_text="Calls per hour, oldest first.")
    rejected_deliveries = serializers.IntegerField(
        help_text="Webhook deliveries refused in the period (GET /api/v1/webhook-deliveries"
                  "?outcome=rejected lists them).")
    in_progress = StatusCountSerializer(
        many=True, help_text="Calls not finished yet, whenever they started, by status.")
    in_progress_total = serializers.IntegerField()


# Replaying a webhook delivery and the sandbox's test call ------------------------------------

class DeliveryReplaySerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What the replay changed, in a sentence.")
    event = CallEventSerializer(
        allow_null=True, help_text="The event recorded on its call (is_duplicate: the call "
                                   "had it already, nothing changed); null when the event "
                                   "names no call.")
    delivery = WebhookDeliverySerializer()


class TestCallCreateSerializer(StrictSerializer):
    script = serializers.CharField(
        required=False, allow_blank=True, max_length=40,
        help_text="The scripted callee (GET /api/v1/test-call lists them, such as busy or "
                  "digits); empty or left out: the sandbox's default.")
    application = serializers.IntegerField(
        required=False, min_value=1, max_value=BIGINT_MAX,
        help_text="The demo application of the sandbox to call through (one of GET "
                  "/api/v1/test-call's); left out: the first.")


class ScriptedCalleeSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="What `script` takes.")
    number = serializers.CharField(help_text="The number called (E.164).")
    summary = serializers.CharField(help_text="How this callee behaves.")


class TestCallTargetSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk", help_text="What `application` takes.")
    name = serializers.CharField()
    account = RefSerializer()


class TestCallOptionsSerializer(serializers.Serializer):
    callees = ScriptedCalleeSerializer(many=True)
    default = serializers.CharField(allow_blank=True,
                                    help_text="The callee called when `script` is left out.")
    applications = TestCallTargetSerializer(
        many=True, help_text="One demo application per sandbox account; [] until `manage.py "
                             "first_run` (or an admin) made one.")
