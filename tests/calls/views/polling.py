"""Live pages' polls in tests: the moment a page's latest change is settled."""

import contextlib
from collections.abc import Iterator
from datetime import timedelta

import time_machine
from django.test import Client
from django.utils import timezone

from calls.views.live import LATE_CHANGE_MARGIN


@contextlib.contextmanager
def settled() -> Iterator[None]:
    """Past the late-change margin of every change made so far: a page rendered now is
    answered 204 at its next poll when nothing changed since."""
    with time_machine.travel(timezone.now() + LATE_CHANGE_MARGIN + timedelta(seconds=1)):
        yield


def settled_change(client: Client, page: str, live: str, region: str) -> str:
    """A live page's change token once its changes are settled, checking on the way that the
    page has its live `region` and that the `live` poll answers 204 while nothing changed."""
    with settled():
        response = client.get(page)
        assert f'id="{region}" data-live' in response.content.decode()
        since = response.context["changed_at"]
        assert client.get(live, {"since_change": since}).status_code == 204
    return since
