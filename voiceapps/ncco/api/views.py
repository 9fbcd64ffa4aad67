"""NCCO API: validate and render without saving; documents, versions, diff and restore.

Mounted under /api/v1/ by portal/api/urls.py. Viewers read, operators write; validating and
rendering change nothing, so every role may do them.
"""

from __future__ import annotations

from django.db.models import Max
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.exceptions import Conflict, error_body
from portal.api.generics import ListApi
from portal.api.responses import location
from portal.api.schema import api_error
from portal.api.serializers import read_body
from portal.params import query_int
from portal.roles import AnyRole
from portal.services import Actor
from voiceapps import selectors
from voiceapps.filters import NccoDocumentFilter
from voiceapps.models import NccoDocument, NccoVersion
from voiceapps.ncco import services
from voiceapps.ncco.api.serializers import (
    CheckSerializer,
    DiffSerializer,
    DocumentDetailSerializer,
    DocumentSerializer,
    DocumentUpdateSerializer,
    DocumentWriteSerializer,
    RenderRequestSerializer,
    RenderSerializer,
    ReportSerializer,
    RestoreSerializer,
    VersionDetailSerializer,
    VersionSerializer,
)
from voiceapps.ncco.render import render_ncco
from voiceapps.ncco.validator import NccoIssue, NccoReport, validate_ncco

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


def _detail(document: NccoDocument, warnings: list[NccoIssue] | None = None) -> dict:
    document.latest = document.versions.order_by("-number").first()
    document.latest_number = document.latest.number if document.latest else None
    document.used_by = selectors.ncco_document_applications(
        document_ids=[document.pk]).get(document.pk, [])
    document.warnings = _issues(warnings or [])
    return DocumentDetailSerializer(document).data


# Views -------------------------------------------------------------------------------------

STALE = api_error("`based_on_version` is not the latest version any more; nothing was saved.")


class NccoValidateApi(APIView):
    permission_classes = [AnyRole]

    @extend_schema(request=CheckSerializer, responses=ReportSerializer,
                   summary="Validate an NCCO without saving it")
    def post(self, request):
        data = read_body(CheckSerializer, request)
        _, report = services.ncco_check(document=data["ncco"], text=data.get("text"))
        return Response(report.as_dict())


class NccoRenderApi(APIView):
    permission_classes = [AnyRole]

    @extend_schema(request=RenderRequestSerializer, responses=RenderSerializer,
                   summary="Fill an NCCO's placeholders with sample values (a preview)")
    def post(self, request):
        data = read_body(RenderRequestSerializer, request)
        document, source = services.ncco_check(document=data["ncco"], text=data.get("text"))
        if not source.valid:
            return Response({**source.as_dict(), "ncco": None, "missing": []})
        result = render_ncco(document, data.get("variables", {}))
        # Formats are checked after rendering: a filled-in number must be a number.
        report = validate_ncco(result.document)
        return Response({**report.as_dict(), "ncco": result.document, "missing": result.missing})


class NccoListApi(ListApi):
    list_summary = "List NCCO documents"
    serializer_class = DocumentSerializer
    filterset_class = NccoDocumentFilter  # the NCCO list page takes the same parameters

    def get_queryset(self):
        return selectors.ncco_document_list()

    @extend_schema(request=DocumentWriteSerializer, responses={201: DocumentDetailSerializer},
                   summary="Create an NCCO document (its version 1); invalid NCCOs are refused")
    def post(self, request):
        data = read_body(DocumentWriteSerializer, request)
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
                        status=status.HTTP_201_CREATED,
                        headers=location(request, "api_ncco", saved.version.document_id))


class NccoDetailApi(APIView):
    @extend_schema(responses=DocumentDetailSerializer,
                   summary="Read an NCCO document and its latest version")
    def get(self, request, pk: int):
        return Response(_detail(get_object_or_404(NccoDocument, pk=pk)))

    @extend_schema(request=DocumentUpdateSerializer,
                   responses={200: DocumentDetailSerializer, 409: STALE},
                   summary="Save a new version (and change the details)")
    def put(self, request, pk: int):
        return self._update(request, pk, partial=False)

    @extend_schema(request=DocumentUpdateSerializer,
                   responses={200: DocumentDetailSerializer, 409: STALE},
                   summary="Change some fields; a new version only when `ncco` is sent")
    def patch(self, request, pk: int):
        return self._update(request, pk, partial=True)

    def _update(self, request, pk: int, *, partial: bool) -> Response:
        document = get_object_or_404(NccoDocument, pk=pk)
        values = read_body(DocumentUpdateSerializer, request, partial=partial)
        try:
            saved = services.ncco_document_update(
                actor=Actor.from_request(request), document=document,
                content=values.get("ncco"), menu=values.get("menu"),
                comment=values.get("comment", ""), name=values.get("name"),
                description=values.get("description"), is_template=values.get("is_template"),
                based_on_version=values.get("based_on_version"),
            )
        except services.NccoRejected as exc:
            return rejected(exc.report)
        except services.NccoVersionConflict as conflict:
            raise Conflict(f"{conflict.message} Nothing was saved: read version "
                           f"{conflict.latest.number}, then send again with based_on_version "
                           f"{conflict.latest.number}.") from None
        return Response(_detail(document, saved.warnings if saved else []))

    @extend_schema(responses={204: None, 409: api_error(
                       "Applications, campaigns or menus still use the document; `detail` "
                       "names them.")},
                   summary="Delete a document and its versions (refused while in use)")
    def delete(self, request, pk: int):
        document = get_object_or_404(NccoDocument, pk=pk)
        services.ncco_document_delete(actor=Actor.from_request(request), document=document)
        return Response(status=status.HTTP_204_NO_CONTENT)


class NccoVersionListApi(ListApi):
    list_summary = "A document's versions, newest first"
    serializer_class = VersionSerializer
    queryset = NccoVersion.objects.none()  # the real one depends on the URL; for the schema

    def get_queryset(self):
        document = get_object_or_404(NccoDocument, pk=self.kwargs["pk"])
        return document.versions.select_related("author").order_by("-number")


def _version(pk: int, number: int) -> NccoVersion:
    """The document's version `number`; a missing document or version is named as such."""
    version = (NccoVersion.objects.select_related("author", "document")
               .filter(document=get_object_or_404(NccoDocument, pk=pk), number=number).first())
    if version is None:
        raise NotFound(f"NCCO document {pk} has no version {number}.")
    return version


class NccoVersionDetailApi(APIView):
    @extend_schema(responses=VersionDetailSerializer, summary="Read one version")
    def get(self, request, pk: int, number: int):
        return Response(VersionDetailSerializer(_version(pk, number)).data)


class NccoVersionRestoreApi(APIView):
    @extend_schema(request=RestoreSerializer, responses={201: VersionDetailSerializer},
                   summary="Restore a version: its content becomes a new latest version")
    def post(self, request, pk: int, number: int):
        data = read_body(RestoreSerializer, request)
        try:
            saved = services.ncco_version_restore(
                actor=Actor.from_request(request), version=_version(pk, number),
                comment=data.get("comment", ""))
        except services.NccoRejected as exc:
            return rejected(exc.report)
        return Response(VersionDetailSerializer(saved.version).data,
                        status=status.HTTP_201_CREATED,
                        headers=location(request, "api_ncco_version", pk, saved.version.number))


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
