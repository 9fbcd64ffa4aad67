"""Answers of the API that need more than DRF's Response."""

from typing import Any

from django.utils.cache import add_never_cache_headers
from rest_framework.response import Response


def secret_response(data: Any, **kwargs: Any) -> Response:
    """An answer holding a secret shown this once (a token, a signing secret): no browser
    cache or proxy may keep a copy of it."""
    response = Response(data, **kwargs)
    add_never_cache_headers(response)
    return response
