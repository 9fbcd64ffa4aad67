"""Campaigns in the API: shapes only; campaigns/services/ checks and decides."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from calls.api.serializers import RefSerializer
from campaigns.models import (
    Attempt,
    Campaign,
    Contact,
    ContactImport,
    SuppressedNumber,
    SuppressionList,
)
from portal.api.serializers import (
    JsonListField,
    ObjectField,
    ObjectUrlField,
    StrictSerializer,
)
from voiceapps.models import Application, CallProfile, ProviderAccount


class ProgressSerializer(serializers.Serializer):
    """How far a campaign's calling is, as the campaigns list and the board show it; the
    board's API has the same fields and more."""

    # Read from campaigns.selectors.Progress.

    contacts = serializers.IntegerField(source="total")
    to_call = serializers.IntegerField(
        help_text="Contacts to call: all but the skipped, the `do_not_call` and the "
        "`no_window`.")
    do_not_call = serializers.IntegerField(
        help_text="Contacts waiting for a call whose number is on a do-not-call list now: "
        "skipped when reached (the list is checked before every dial, so one removed from it "
        "by then is called), and not counted in `to_call`, as the preview counts them."
    )
    no_window = serializers.IntegerField(
        help_text="Contacts waiting for a call, not on a do-not-call list, for whom no calling "
        "window opens in all their zones from now before the campaign's end: skipped when "
        "reached or at the end, and not counted in `to_call`, as the preview counts them."
    )
    skipped = serializers.IntegerField(
        help_text="Contacts never called (each contact's `skip_reason` says why): "
        "`by_state`'s `skipped`, as the page shows it."
    )
    finished_percent = serializers.IntegerField(
        help_text="Of the contacts to call, the share whose calling is over; skipped contacts "
        "are not counted (they are in by_state)."
    )
    by_state = serializers.DictField(child=serializers.IntegerField())
    in_progress = serializers.IntegerField(help_text="The campaign's calls placed and not ended.")


class CampaignSerializer(serializers.ModelSerializer):
    url = ObjectUrlField("api_campaign")
    account = RefSerializer(read_only=True)
    application = RefSerializer(read_only=True, allow_null=True)
    progress = ProgressSerializer(
        read_only=True,
        help_text="As the campaigns list shows it: read at most once a second per running "
        "campaign (every 10 s for the others), shared with the board and the list page.",
    )

    class Meta:
        model = Campaign
        fields = [
            "id",
            "url",
            "name",
            "status",
            "account",
            "application",
            "flow",
            "from_numbers",
            "options",
            "profile",
            "calls_per_second",
            "max_concurrent",
            "windows",
            "default_timezone",
            "default_country",
            "retry_rules",
            "rehearsal_of",
            "starts_at",
            "ends_at",
            "created_at",
            "started_at",
            "updated_at",
            "progress",
        ]
        read_only_fields = fields


class CampaignWriteSerializer(StrictSerializer):
    resource_shape = CampaignSerializer

    name = serializers.CharField(max_length=100)
    account = serializers.PrimaryKeyRelatedField(
        queryset=ProviderAccount.objects.all(), required=False
    )
    application = serializers.PrimaryKeyRelatedField(
        queryset=Application.objects.all(), required=False, allow_null=True
    )
    flow = ObjectField(
        required=False, default=lambda: {"type": "application"}, help_text="As in POST /calls."
    )
    from_numbers = serializers.ListField(child=serializers.CharField(max_length=40), max_length=50)
    options = ObjectField(required=False, default=dict, help_text="As in POST /calls.")
    profile = serializers.PrimaryKeyRelatedField(
        queryset=CallProfile.objects.all(), required=False, allow_null=True
    )
    calls_per_second = serializers.DecimalField(
        max_digits=6, decimal_places=2, min_value=Decimal("0.01")
    )
    max_concurrent = serializers.IntegerField(min_value=1, max_value=10000)
    windows = JsonListField(
        help_text='[{"days": [0, 1, 2, 3, 4], "start": "09:00", '
        '"end": "17:00"}], Monday 0, in each '
        "contact's own time zone."
    )
    default_timezone = serializers.CharField(max_length=64, required=False, default="UTC")
    default_country = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="An ISO 3166 code such as NL: contacts' numbers without a country code are "
        "read as its national numbers. Empty: every number must be in international format.",
    )
    retry_rules = ObjectField(
        required=False, help_text='{"busy": {"retries": 2, "delay_minutes": 10}}'
    )
    starts_at = serializers.DateTimeField(required=False)
    ends_at = serializers.DateTimeField(required=False, allow_null=True)


class CampaignUpdateSerializer(CampaignWriteSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
            field.default = serializers.empty


class ContactEntrySerializer(StrictSerializer):
    number = serializers.CharField(max_length=100)
    timezone = serializers.CharField(max_length=64, required=False, allow_blank=True)
    variables = ObjectField(required=False, default=dict)


class ContactsAddSerializer(StrictSerializer):
    contacts = ContactEntrySerializer(many=True, required=False, max_length=1000)
    csv = serializers.CharField(
        required=False, trim_whitespace=False,
        help_text="A whole CSV file, as uploaded on the page, in a JSON body (at most 2.5 MB).",
    )
    file = serializers.FileField(
        required=False,
        help_text="A CSV file as a multipart/form-data upload, as on the page: for files past "
        "what a JSON body holds, up to 16 MB (about 400,000 rows).",
    )

    def validate(self, data: dict) -> dict:
        if sum(name in data for name in ("contacts", "csv", "file")) != 1:
            raise serializers.ValidationError("Give one of contacts, csv or file.")
        return data


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attempt
        fields = ["number", "call", "status", "outcome", "detail", "created_at", "ended_at"]
        read_only_fields = fields


class ContactSerializer(serializers.ModelSerializer):
    attempts = AttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Contact
        fields = ["id", "row", "raw_number", "e164", "timezones", "timezone_ambiguous", "variables",
                  "state", "skip_reason", "problem", "next_attempt_at", "attempts_made", "outcome",
                  "attempts"]
        read_only_fields = fields


class ContactImportSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContactImport
        fields = [
            "id",
            "filename",
            "status",
            "total_rows",
            "processed_rows",
            "accepted_rows",
            "refused_rows",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class SuppressionListSerializer(serializers.ModelSerializer):
    account = RefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = SuppressionList
        fields = ["id", "name", "account", "created_at"]
        read_only_fields = fields


class SuppressionListCreateSerializer(StrictSerializer):
    resource_shape = SuppressionListSerializer

    name = serializers.CharField(max_length=100)
    account = serializers.PrimaryKeyRelatedField(
        queryset=ProviderAccount.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Leave out for a list every account's campaigns respect.",
    )


class NumbersAddSerializer(StrictSerializer):
    numbers = serializers.ListField(
        child=serializers.CharField(max_length=40), max_length=10000, required=False
    )
    file = serializers.FileField(
        required=False,
        help_text="A file of numbers as a multipart/form-data upload, as on the page: one a "
        "line, or a CSV whose first column is `number`; up to 16 MB.",
    )
    country = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="An ISO 3166 code such as NL: numbers without a country code are read as its "
        "national numbers. Empty: every number must be in international format.",
    )

    def validate(self, data: dict) -> dict:
        if sum(name in data for name in ("numbers", "file")) != 1:
            raise serializers.ValidationError("Give one of numbers or file.")
        return data


class SuppressedNumberSerializer(serializers.ModelSerializer):
    """A number on a do-not-call list."""

    number = serializers.CharField(source="e164", help_text="In international format.")
    source = serializers.CharField(
        help_text="How it came onto the list: `upload` (added on its page, typed or a file), "
        "`api`, or `opt_out` (the callee pressed a hosted menu's opt-out key in `call`)."
    )
    call = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The call in which the callee opted out."
    )
    filename = serializers.CharField(
        read_only=True,
        help_text="The file it was uploaded from (on the list's page, which names it, or as "
        "`file` through the API); empty when typed there, sent as `numbers`, added by an "
        "opt-out, or added before files were named.",
    )

    class Meta:
        model = SuppressedNumber
        fields = ["number", "source", "filename", "call", "created_at"]
        read_only_fields = fields

