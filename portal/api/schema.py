"""The OpenAPI schema generator, with one correction to what drf-spectacular infers.

DRF drops `allow_blank` from read-only fields of a ModelSerializer, so a model field that may
be blank (an optional URL, a choice not made yet) was documented as a non-empty URL or enum
while the API returns "" for it. Schemathesis caught it (tests/security/test_fuzz_api.py).
"""

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


class CallboardAutoSchema(AutoSchema):
    def _map_serializer_field(self, field: Any, direction: str,
                              bypass_extensions: bool = False) -> dict:
        if field.read_only and isinstance(field, serializers.CharField | serializers.ChoiceField):
            field.allow_blank = field.allow_blank or _model_field_may_be_blank(field)
        return super()._map_serializer_field(field, direction, bypass_extensions)


def _model_field_may_be_blank(field: serializers.Field) -> bool:
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or not field.source or "." in field.source:
        return False
    try:
        return model._meta.get_field(field.source).blank
    except FieldDoesNotExist:
        return False
