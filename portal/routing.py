"""Routes named after their views, so that a urls.py writes each name once."""

from collections.abc import Callable

from django.http import HttpResponse
from django.urls import URLPattern, path


def view_path(route: str, view: Callable[..., HttpResponse]) -> URLPattern:
    """`path(route, view, name=...)` with the view function's own name as the URL's name.

    Where a URL's name differs from its view's (a renamed view, a second address for one view),
    the urls.py keeps a plain `path()` with an explicit name.
    """
    return path(route, view, name=view.__name__)
