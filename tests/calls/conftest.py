import pytest

from calls import tasks


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    """Call ids handed to the worker (on commit); nothing is really sent."""
    ids: list[int] = []
    monkeypatch.setattr(tasks.call_submit, "delay", ids.append)
    return ids
