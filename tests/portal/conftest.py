from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone


@pytest.fixture
def clock(monkeypatch) -> Callable[[int], None]:
    """Moves Django's clock (session expiry, lifetime and last use read it) forward, in
    minutes."""
    start = timezone.now()
    offset = {"minutes": 0}
    monkeypatch.setattr(
        "django.utils.timezone.now", lambda: start + timedelta(minutes=offset["minutes"])
    )

    def advance(minutes: int) -> None:
        offset["minutes"] += minutes

    return advance
