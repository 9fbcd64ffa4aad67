"""The OpenAPI schema generator, with two corrections to what drf-spectacular infers.

Every operation lists the errors it can answer: drf-spectacular documents only the statuses a
view declares, and internal tools generate clients from the schema, so an undocumented status
is a bug (schemathesis' status_code_conformance, tests/security/test_fuzz_api.py, checks it).
The statuses every operation of a kind answers are added here, once; a view declares its own
(a 409, a 502) with `api_error`.

What a request body or query parameter is refused for is documented where OpenAPI can say it
(schemathesis' positive_data_acceptance found each gap): a StrictSerializer's body has
`additionalProperties: false`, an integer query parameter its bounds (portal.params reads
each), a decimal written as a string needs a digit and a decimal number has its step. What
depends on the database or on another field (an id that names nothing, a name taken, `until`
after `since`) is left to the 400 naming the field.

DRF drops `allow_blank` from read-only fields of a ModelSerializer, so a model field that may
be blank (an optional URL, a choice not made yet) was documented as a non-empty URL or enum
while the API returns "" for it. Schemathesis caught it (tests/security/test_fuzz_api.py).
"""

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django_filters import ChoiceFilter, FilterSet, ModelChoiceFilter
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from portal.api.serializers import ErrorSerializer, StrictSerializer
from portal.params import BIGINT_MAX

WRITES = frozenset({"POST", "PUT", "PATCH"})

# What every operation may answer, before its view runs (authentication, permissions and
# DRF's throttles, all answered by portal.api.exceptions in the error shape).
SIGNED_IN = {
    401: "No valid API token (or signed-in session) was sent.",
    403: "The token's scope or the user's role (or the token's accounts) does not allow this.",
    429: "Too many requests; `Retry-After` says in how many seconds to try again.",
}
# Only what takes input refuses it: a body, or query parameters (StrictFilterBackend
# refuses an unknown one); a write's body can also be too large or not JSON.
INPUT = {400: "A bad or unknown field or parameter; `fields` names each."}
BODY = {
    413: "The body is larger than the API takes.",
    415: "The body is not JSON (`Content-Type: application/json`).",
}
# An id in the path that names nothing (or nothing the token's accounts may see).
PATH = {404: "Nothing has this id (or the token may not see it)."}


def api_error(description: str) -> OpenApiResponse:
    """An error answer of one operation, in the shape of every API error: a view's own 409 or
    502, described in a plain sentence (`responses={409: api_error("…")}`)."""
    return OpenApiResponse(ErrorSerializer, description=description)


def filter_parameters(filterset: type[FilterSet]) -> list[OpenApiParameter]:
    """`filterset`'s query parameters, for a view that filters with it without being its list
    (the recordings, picked by the call log's filters): drf-spectacular documents a
    FilterSet's parameters only on the view whose filter backend applies it."""
    parameters = []
    for name, field in filterset.base_filters.items():
        choices = field.extra.get("choices") if isinstance(field, ChoiceFilter) else None
        parameters.append(OpenApiParameter(
            name, int if isinstance(field, ModelChoiceFilter) else str,  # an id, or text
            description=str(field.extra.get("help_text") or field.label or ""),
            enum=[value for value, _ in choices] if isinstance(choices, list | tuple) else None,
        ))
    return parameters


class CallboardAutoSchema(AutoSchema):
    def get_operation(self, path: str, path_regex: str, path_prefix: str, method: str,
                      registry: Any) -> dict | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        # A view's own description of a common status (e.g. its 404) wins. Errors are JSON
        # whatever the view renders on success (a CSV export's too: CsvExportMixin).
        for code, description in self._common_errors(operation).items():
            responses.setdefault(str(code), self._get_response_for_code(
                api_error(description), str(code), media_types=["application/json"]))
        operation["responses"] = dict(sorted(responses.items()))
        for parameter in operation.get("parameters", ()):
            if parameter["in"] == "query" and parameter["schema"].get("type") == "integer":
                # Read by portal.params (query_int, ModelIdField): ids and page sizes from 1,
                # what the database can hold at most; a paginator sets offset's 0 itself.
                parameter["schema"].setdefault("minimum", 1)
                parameter["schema"].setdefault("maximum", BIGINT_MAX)
        return operation

    def _get_paginator(self) -> Any:
        # The paginator's page links are documented as examples of this list's own address.
        paginator = super()._get_paginator()
        if paginator is not None:
            paginator.documented_path = self.path
        return paginator

    def _common_errors(self, operation: dict) -> dict[int, str]:
        locations = {parameter["in"] for parameter in operation.get("parameters", ())}
        common: dict[int, str] = {}
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            common.update(SIGNED_IN)
        if self.method in WRITES or "query" in locations:
            common.update(INPUT)
        if self.method in WRITES:
            common.update(BODY)
        if "path" in locations:
            common.update(PATH)
        return common

    def _map_serializer(self, serializer: Any, direction: str,
                        bypass_extensions: bool = False) -> dict:
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if (direction == "request" and isinstance(force_instance(serializer), StrictSerializer)
                and schema.get("properties")):
            schema["additionalProperties"] = False  # a field it does not take is a 400
        return schema

    def _map_serializer_field(self, field: Any, direction: str,
                              bypass_extensions: bool = False) -> dict:
        if field.read_only and isinstance(field, serializers.CharField | serializers.ChoiceField):
            field.allow_blank = field.allow_blank or _model_field_may_be_blank(field)
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.DecimalField) and field.max_whole_digits:
            _decimal(field, schema)
        return schema


def _decimal(field: serializers.DecimalField, schema: dict) -> None:
    """drf-spectacular's pattern takes "", "-" and "." (each a 400) and its number any step."""
    places = field.decimal_places
    if schema.get("type") == "string":
        sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
        schema["pattern"] = (fr"^{sign}(?:\d{{1,{field.max_whole_digits}}}(?:\.\d{{0,{places}}})?"
                             fr"|\.\d{{1,{places}}})$")
    else:
        schema["multipleOf"] = float(10 ** -places)


def _model_field_may_be_blank(field: serializers.Field) -> bool:
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or not field.source or "." in field.source:
        return False
    try:
        return model._meta.get_field(field.source).blank
    except FieldDoesNotExist:
        return False
