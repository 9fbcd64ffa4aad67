"""The NCCO API's request and response shapes."""

from __future__ import annotations

from rest_framework import serializers

from portal.api.serializers import JsonListField, ObjectField, StrictSerializer
from portal.params import BIGINT_MAX
from voiceapps.models import Application, NccoDocument, NccoVersion

NCCO_HELP = "The NCCO: a JSON array of actions. May hold {{placeholders}}."
MENU_HELP = (
    'Hosted menu routing: {"digits": {"1": document_id}, "words": {"sales": document_id}, '
    '"default": document_id, "opt_out": "9"}; pressing opt_out puts the callee on the '
    "account's do-not-call list."
)


class IssueSerializer(serializers.Serializer):
    path = serializers.CharField(help_text='JSON pointer into the NCCO, such as "/2/endpoint".')
    message = serializers.CharField()
    severity = serializers.ChoiceField(choices=["error", "warning"])
    line = serializers.IntegerField(allow_null=True, help_text="1-based, when text was sent.")
    column = serializers.IntegerField(allow_null=True)


class ReportSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = IssueSerializer(many=True)
    warnings = IssueSerializer(many=True)


class CheckSerializer(StrictSerializer):
    ncco = serializers.JSONField(allow_null=True, help_text=NCCO_HELP)
    text = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False,
        help_text="The NCCO as typed. When given it is parsed instead of `ncco`, and every "
                  "issue carries its line (an editor sends this).",
    )


class RenderRequestSerializer(CheckSerializer):
    variables = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False), required=False,
        help_text='Values by placeholder name: "to", "from", "uuid", "conversation_uuid", '
                  '"custom.NAME".',
    )


class RenderSerializer(ReportSerializer):
    ncco = serializers.JSONField(help_text="The NCCO with its placeholders filled.")
    missing = serializers.ListField(child=serializers.CharField(),
                                    help_text="Placeholders that had no value (now empty).")


class ApplicationRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Application
        fields = ["id", "name"]


class DocumentSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="latest_number", read_only=True)

    class Meta:
        model = NccoDocument
        fields = ["id", "name", "description", "is_template", "version", "created_at",
                  "updated_at"]
        read_only_fields = fields


class VersionSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", default=None, read_only=True)

    class Meta:
        model = NccoVersion
        fields = ["number", "comment", "author", "created_at"]
        read_only_fields = fields


class VersionDetailSerializer(VersionSerializer):
    ncco = serializers.JSONField(source="content", read_only=True)

    class Meta(VersionSerializer.Meta):
        fields = [*VersionSerializer.Meta.fields, "ncco", "menu"]
        read_only_fields = fields


class DocumentDetailSerializer(DocumentSerializer):
    ncco = serializers.JSONField(source="latest.content", read_only=True)
    menu = serializers.JSONField(source="latest.menu", read_only=True)
    used_by = ApplicationRefSerializer(many=True, read_only=True,
                                       help_text="Applications serving this document.")
    warnings = IssueSerializer(many=True, read_only=True, required=False,
                               help_text="On create and update: what to look at.")

    class Meta(DocumentSerializer.Meta):
        fields = [*DocumentSerializer.Meta.fields, "ncco", "menu", "used_by", "warnings"]
        read_only_fields = fields


class DocumentWriteSerializer(StrictSerializer):
    resource_shape = DocumentDetailSerializer

    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)
    is_template = serializers.BooleanField(required=False,
                                           help_text="A reusable template, not a flow.")
    ncco = JsonListField(help_text=NCCO_HELP)
    menu = ObjectField(required=False, help_text=MENU_HELP)
    comment = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                    help_text="Why this version; shown in the history.")


class DocumentUpdateSerializer(DocumentWriteSerializer):
    based_on_version = serializers.IntegerField(
        required=False, min_value=1, max_value=BIGINT_MAX,
        help_text="The version this edit started from. When a later one was saved since, "
                  "nothing is saved and the answer is 409: read the latest version, then send "
                  "again based on it. Without it the save always goes through.")


class RestoreSerializer(StrictSerializer):
    comment = serializers.CharField(max_length=200, required=False, allow_blank=True)


class DiffSerializer(serializers.Serializer):
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    diff = serializers.CharField(help_text="A unified diff of the pretty-printed JSON.")
