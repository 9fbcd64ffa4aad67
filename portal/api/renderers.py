"""How the API picks what it answers in: a `format` it does not answer in is a 400 naming
the parameter; an export view answers CSV whatever the client asks for (its Accept header
and a `format` parameter are not consulted), and the API's JSON error shape on errors."""

from typing import Any

from django.http import Http404
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response


class CsvRenderer(BaseRenderer):
    """The media type an export streams; the view writes the CSV itself."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: dict | None = None) -> bytes:
        return b"" if data is None else str(data).encode(self.charset)


class CsvOnly(BaseContentNegotiation):
    """An export has one representation: a client accepting only JSON still gets the file
    rather than a 406 (its errors are JSON, see `CsvExportMixin`)."""

    def select_parser(self, request: Request, parsers: list) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: list,
                        format_suffix: str | None = None) -> tuple:
        return renderers[0], renderers[0].media_type


class FormatNamedNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, but a `format` parameter no renderer takes is a 400 naming it: DRF
    answers 404 "Not found.", which reads as a missing object."""

    def select_renderer(self, request: Request, renderers: list,
                        format_suffix: str | None = None) -> tuple:
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except Http404:
            asked = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
            offered = ", ".join(renderer.format for renderer in renderers)
            raise ValidationError({self.settings.URL_FORMAT_OVERRIDE: [
                f"This address answers in {offered}, not {asked}; leave format out."]}) from None


class CsvExportMixin:
    """For an API view whose success is a streamed CSV and whose errors are the API's JSON."""

    renderer_classes = [CsvRenderer]
    content_negotiation_class = CsvOnly
    pagination_class = None

    def finalize_response(self, request: Request, response: Any, *args: Any,
                          **kwargs: Any) -> Any:
        if isinstance(response, Response):  # an error: the only Response such a view makes
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)
