import pytest

from calls import tasks
from calls.models import WebhookDelivery
from tests.calls.webhook_helpers import vonage_post, vonage_status
from tests.factories import ProviderAccountFactory


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    """Call ids handed to the worker (on commit); nothing is really sent."""
    ids: list[int] = []
    monkeypatch.setattr(tasks.call_submit, "delay", ids.append)
    return ids


@pytest.fixture
def account(db):
    """A Vonage account (a module may define its own)."""
    return ProviderAccountFactory()


@pytest.fixture
def rejected(account, client) -> WebhookDelivery:
    """A genuine event to `account` whose signature was refused (signed with an old secret):
    what an admin replays from the deliveries page or the API."""
    vonage_post(client, account, vonage_status("answered", at="2026-01-05T10:00:05.000Z"),
                secret="the-secret-before-rotation-00000000")
    return WebhookDelivery.objects.get()
