"""NCCO API: validate and render without saving; documents, versions, diff and restore.

Mounted under /api/v1/ by portal/api/urls.py. Viewers read, operators write; validating and
rendering change nothing, so every role may do them.
"""

from __future__ import annotations

from django.db.models import Max, Q
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.exceptions import error_body
from portal.api.serializers import StrictSerializer
from portal.params import query_int
from portal.roles import AnyRole
from portal.services import Actor
from voiceapps.models import Application, NccoDocument, NccoVersion
from voiceapps.ncco import services
from voiceapps.ncco.render import render_ncco
from voiceapps.ncco.validator import NccoIssue, NccoReport, validate_ncco

# Serializers -------------------------------------------------------------------------------

NCCO_HELP = "The NCCO: a JSON array of actions. May hold {{placeholders}}."
MENU_HELP = (
    'Hosted menu routing: {"digits": {"1": document_id}, "words": {"sales": document_id}, '
    '"default": document_id}.'
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
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)
    is_template = serializers.BooleanField(required=False,
                                           help_text="A reusable template, not a flow.")
    ncco = serializers.JSONField(help_text=NCCO_HELP)
    menu = serializers.JSONField(required=False, help_text=MENU_HELP)
    comment = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                    help_text="Why this version; shown in the history.")


class RestoreSerializer(StrictSerializer):
    comment = serializers.CharField(max_length=200, required=False, allow_blank=True)


class DiffSerializer(serializers.Serializer):
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    diff = serializers.CharField(help_text="A unified diff of the pretty-printed JSON.")


# Helpers -----------------------------------------------------------------------------------

def rejected(report: NccoReport) -> Response:
    """400 for an invalid NCCO: issues in `fields` (pointers into the request body) and in
    an `errors` array (pointers into the NCCO)."""
    fields: dict[str, list[str]] = {}
    for issue in report.errors:
        fields.setdefault("/ncco" + issue.path, []).append(issue.message)
    count = len(report.errors)
    body = error_body(
        "invalid", f"The NCCO has {count} error{'s' if count != 1 else ''}; nothing was saved.",
        fields)
    body["errors"] = [issue.as_dict() for issue in report.errors]
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def _issues(warnings: list[NccoIssue]) -> list[dict]:
    return [issue.as_dict() for issue in warnings]


def _documents():
    return NccoDocument.objects.annotate(latest_number=Max("versions__number"))


def _detail(document: NccoDocument, warnings: list[NccoIssue] | None = None) -> dict:
    document.latest = document.versions.order_by("-number").first()
    document.latest_number = document.latest.number if document.latest else None
    document.used_by = Application.objects.filter(ncco_document=document).order_by("name")
    document.warnings = _issues(warnings or [])
    return DocumentDetailSerializer(document).data


def _checked_input(request, serializer_class=CheckSerializer):
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


# Views -------------------------------------------------------------------------------------

class NccoValidateApi(APIView):
    permission_classes = [AnyRole]

    @extend_schema(request=CheckSerializer, responses=ReportSerializer,
                   summary="Validate an NCCO without saving it")
    def post(self, request):
        data = _checked_input(request)
        _, report = services.ncco_check(document=data["ncco"], text=data.get("text"))
        return Response(report.as_dict())


class NccoRenderApi(APIView):
    permission_classes = [AnyRole]

    @extend_schema(request=RenderRequestSerializer, responses=RenderSerializer,
                   summary="Fill an NCCO's placeholders with sample values (a preview)")
    def post(self, request):
        data = _checked_input(request, RenderRequestSerializer)
        document, source = services.ncco_check(document=data["ncco"], text=data.get("text"))
        if not source.valid:
            return Response({**source.as_dict(), "ncco": None, "missing": []})
        result = render_ncco(document, data.get("variables", {}))
        # Formats are checked after rendering: a filled-in number must be a number.
        report = validate_ncco(result.document)
        return Response({**report.as_dict(), "ncco": result.document, "missing": result.missing})


class NccoListApi(GenericAPIView):
    serializer_class = DocumentSerializer

    def get_queryset(self):
        documents = _documents().order_by("name")
        search = self.request.query_params.get("search", "").strip()
        if search:
            documents = documents.filter(Q(name__icontains=search) |
                                         Q(description__icontains=search))
        kind = self.request.query_params.get("kind", "")
        if kind in {"template", "flow"}:
            documents = documents.filter(is_template=kind == "template")
        return documents

    @extend_schema(
        parameters=[
            OpenApiParameter("search", str, description="Part of the name or description."),
            OpenApiParameter("kind", str, enum=["template", "flow"],
                             description="Only templates, or only application flows."),
        ],
        responses=DocumentSerializer(many=True),
        summary="List NCCO documents",
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(DocumentSerializer(page, many=True).data)

    @extend_schema(request=DocumentWriteSerializer, responses={201: DocumentDetailSerializer},
                   summary="Create an NCCO document (its version 1); invalid NCCOs are refused")
    def post(self, request):
        data = _checked_input(request, DocumentWriteSerializer)
        try:
            saved = services.ncco_document_create(
                actor=Actor.from_request(request), name=data["name"], content=data["ncco"],
                description=data.get("description", ""),
                is_template=data.get("is_template", False),
                comment=data.get("comment", ""), menu=data.get("menu"),
            )
        except services.NccoRejected as exc:
            return rejected(exc.report)
        return Response(_detail(saved.version.document, saved.warnings),
                        status=status.HTTP_201_CREATED)


class NccoDetailApi(APIView):
    @extend_schema(responses=DocumentDetailSerializer,
                   summary="Read an NCCO document and its latest version")
    def get(self, request, pk: int):
        return Response(_detail(get_object_or_404(NccoDocument, pk=pk)))

    @extend_schema(request=DocumentWriteSerializer, responses=DocumentDetailSerializer,
                   summary="Save a new version (and change the details)")
    def put(self, request, pk: int):
        return self._update(request, pk, partial=False)

    @extend_schema(request=DocumentWriteSerializer, responses=DocumentDetailSerializer,
                   summary="Change some fields; a new version only when `ncco` is sent")
    def patch(self, request, pk: int):
        return self._update(request, pk, partial=True)

    def _update(self, request, pk: int, *, partial: bool) -> Response:
        document = get_object_or_404(NccoDocument, pk=pk)
        data = DocumentWriteSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            saved = services.ncco_document_update(
                actor=Actor.from_request(request), document=document,
                content=values.get("ncco"), menu=values.get("menu"),
                comment=values.get("comment", ""), name=values.get("name"),
                description=values.get("description"), is_template=values.get("is_template"),
            )
        except services.NccoRejected as exc:
            return rejected(exc.report)
        return Response(_detail(document, saved.warnings if saved else []))

    @extend_schema(responses={204: None},
                   summary="Delete a document and its versions (refused while in use)")
    def delete(self, request, pk: int):
        document = get_object_or_404(NccoDocument, pk=pk)
        services.ncco_document_delete(actor=Actor.from_request(request), document=document)
        return Response(status=status.HTTP_204_NO_CONTENT)


class NccoVersionListApi(GenericAPIView):
    serializer_class = VersionSerializer
    queryset = NccoVersion.objects.none()  # the real one depends on the URL; for the schema

    def get_queryset(self):
        document = get_object_or_404(NccoDocument, pk=self.kwargs["pk"])
        return document.versions.select_related("author").order_by("-number")

    @extend_schema(responses=VersionSerializer(many=True),
                   summary="A document's versions, newest first")
    def get(self, request, pk: int):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(VersionSerializer(page, many=True).data)


def _version(pk: int, number: int) -> NccoVersion:
    return get_object_or_404(NccoVersion.objects.select_related("author", "document"),
                             document_id=pk, number=number)


class NccoVersionDetailApi(APIView):
    @extend_schema(responses=VersionDetailSerializer, summary="Read one version")
    def get(self, request, pk: int, number: int):
        return Response(VersionDetailSerializer(_version(pk, number)).data)


class NccoVersionRestoreApi(APIView):
    @extend_schema(request=RestoreSerializer, responses={201: VersionDetailSerializer},
                   summary="Restore a version: its content becomes a new latest version")
    def post(self, request, pk: int, number: int):
        data = _checked_input(request, RestoreSerializer)
        try:
            saved = services.ncco_version_restore(
                actor=Actor.from_request(request), version=_version(pk, number),
                comment=data.get("comment", ""))
        except services.NccoRejected as exc:
            return rejected(exc.report)
        return Response(VersionDetailSerializer(saved.version).data,
                        status=status.HTTP_201_CREATED)


class NccoDiffApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.INT, description="Default: the one before."),
            OpenApiParameter("to", OpenApiTypes.INT, description="Default: the latest."),
        ],
        responses=DiffSerializer,
        summary="A unified diff between two versions",
    )
    def get(self, request, pk: int):
        document = get_object_or_404(NccoDocument, pk=pk)
        latest = document.versions.aggregate(last=Max("number"))["last"] or 0
        a = _version(pk, query_int(request.query_params, "from") or max(latest - 1, 1))
        b = _version(pk, query_int(request.query_params, "to") or latest)
        return Response({"from_version": a.number, "to_version": b.number,
                         "diff": services.ncco_diff(a, b)})


urlpatterns = [
    path("ncco/validate", NccoValidateApi.as_view(), name="api_ncco_validate"),
    path("ncco/render", NccoRenderApi.as_view(), name="api_ncco_render"),
    path("nccos", NccoListApi.as_view(), name="api_nccos"),
    path("nccos/<id:pk>", NccoDetailApi.as_view(), name="api_ncco"),
    path("nccos/<id:pk>/diff", NccoDiffApi.as_view(), name="api_ncco_diff"),
    path("nccos/<id:pk>/versions", NccoVersionListApi.as_view(), name="api_ncco_versions"),
    path("nccos/<id:pk>/versions/<id:number>", NccoVersionDetailApi.as_view(),
         name="api_ncco_version"),
    path("nccos/<id:pk>/versions/<id:number>/restore", NccoVersionRestoreApi.as_view(),
         name="api_ncco_restore"),
]
