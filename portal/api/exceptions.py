"""One shape for every API error: {"error": code, "detail": sentence, "fields": {path: [...]}}."""

import logging
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import (
    ObjectDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from portal.params import BadParameter
from portal.services import IdempotencyConflict, StateConflict

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    """The request is sound but does not fit the current state (say, a newer version): 409."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class IdempotencyKeyReused(exceptions.APIException):
    """portal.services.IdempotencyConflict, whichever service raised it: 422."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


def flatten_errors(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """Nested serializer errors as {"to.number": [...], "headers.0": [...]}."""
    if isinstance(errors, dict):
        flat: dict[str, list[str]] = {}
        for key, value in errors.items():
            # A list of objects reports its items by index, and index 0 is a name too.
            name = "" if key == "non_field_errors" else str(key)
            path = f"{prefix}.{name}" if prefix and name else (name or prefix)
            flat.update(flatten_errors(value, path))
        return flat
    if isinstance(errors, list) and errors and all(isinstance(e, str) for e in errors):
        return {prefix or "non_field_errors": [str(e) for e in errors]}
    if isinstance(errors, list):
        flat = {}
        for index, value in enumerate(errors):
            if value:
                flat.update(flatten_errors(value, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    return {prefix or "non_field_errors": [str(errors)]}


def error_body(code: str, detail: str, fields: dict | None = None) -> dict:
    return {"error": code, "detail": detail, "fields": fields or {}}


def missing(model: type[Model], value: object) -> exceptions.NotFound:
    """The 404 of an object the address names and nothing is (or the token may not see):
    "No call with id 5.", the kind in the words of the model's verbose_name."""
    return exceptions.NotFound(f"No {model._meta.verbose_name} with id {value}.")


def _not_found(exc: Http404, context: dict) -> exceptions.NotFound:
    """Which object an Http404 did not find. Django's get_object_or_404 (DRF's get_object
    too) raises it while handling the model's DoesNotExist, the only place the model is
    named; the id is the address's `pk` (its first object, looked up first), or its only
    parameter. A view looking up an inner object (a document's version) names it itself."""
    looked_up = exc.__context__
    model = next((model for model in apps.get_models()
                  if type(looked_up) is model.DoesNotExist), None)
    ids = context.get("kwargs") or {}
    value = ids.get("pk", next(iter(ids.values())) if len(ids) == 1 else None)
    if not isinstance(looked_up, ObjectDoesNotExist) or model is None or value is None:
        return exceptions.NotFound()
    return missing(model, value)


def too_many_parts(exc: Exception) -> str | None:
    """What is wrong with a request Django refused to read for having too many fields,
    parameters or files (a SuspiciousOperation, which no API view handles); None for any
    other error."""
    if isinstance(exc, TooManyFieldsSent):
        return (f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields "
                "or query parameters, the most Callboard reads.")
    if isinstance(exc, TooManyFilesSent):
        return (f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files, "
                "the most Callboard reads.")
    return None


def api_exception_handler(exc: Exception, context: dict) -> Response:
    if isinstance(exc, StateConflict):  # before ValidationError, which it is
        exc = Conflict(" ".join(exc.messages))
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = _not_found(exc, context)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, BadParameter):
        exc = exceptions.ValidationError({exc.name: [exc.message]})
    elif isinstance(exc, IdempotencyConflict):
        exc = IdempotencyKeyReused(str(exc))
    elif too_many_parts(exc):
        exc = exceptions.ParseError(too_many_parts(exc))
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(f"The body is over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes, "
                              "the most the API takes.")

    response = exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled error in API view %s", context.get("view"))
        return Response(
            error_body("server_error", "Something went wrong on our side; it has been logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_errors(exc.detail)
        names = ", ".join(sorted(k for k in fields if k != "non_field_errors"))
        sentence = f"Check these fields: {names}." if names else " ".join(
            fields.get("non_field_errors", ["The request is invalid."])
        )
        response.data = error_body("invalid", sentence, fields)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        response.data = error_body(code if isinstance(code, str) else "error", str(detail))
    return response
