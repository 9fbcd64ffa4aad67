"""Answers of the API that need more than DRF's Response."""

from typing import Any

from django.utils.cache import add_never_cache_headers
from rest_framework.response import Response

from portal.api.serializers import object_url


def secret_response(data: Any, **kwargs: Any) -> Response:
    """An answer holding a secret shown this once (a token, a signing secret): no browser
    cache or proxy may keep a copy of it."""
    response = Response(data, **kwargs)
    add_never_cache_headers(response)
    return response


def location(request: Any, name: str, *args: int) -> dict[str, str]:
    """The headers of an answer that made one object (201) or took work on (202): where it is,
    absolute, as an object's `url` in a body is."""
    return {"Location": object_url({"request": request}, name, *args)}
