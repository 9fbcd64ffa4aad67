import pytest

from forwarding import tasks


@pytest.fixture
def sends(monkeypatch) -> list[tuple[int, int]]:
    """(subscription, call) pairs handed to the worker; nothing is sent by itself."""
    queued: list[tuple[int, int]] = []
    monkeypatch.setattr(tasks.forwarding_send, "delay", lambda *pair: queued.append(pair))
    monkeypatch.setattr(
        tasks.forwarding_send_calls,
        "delay",
        lambda subscription, calls: queued.extend((subscription, call) for call in calls),
    )
    monkeypatch.setattr(
        tasks.forwarding_send, "apply_async", lambda pair, countdown=0: queued.append(tuple(pair))
    )
    return queued
