"""Live pages' polls in tests: the moment a page's latest change is settled."""

import contextlib
from collections.abc import Iterator
from datetime import timedelta

import time_machine
from django.utils import timezone

from calls.views.live import LATE_CHANGE_MARGIN


@contextlib.contextmanager
def settled() -> Iterator[None]:
    """Past the late-change margin of every change made so far: a page rendered now is
    answered 204 at its next poll when nothing changed since."""
    with time_machine.travel(timezone.now() + LATE_CHANGE_MARGIN + timedelta(seconds=1)):
        yield
