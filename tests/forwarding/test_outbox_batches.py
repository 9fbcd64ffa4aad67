"""The outbox of events applied in a batch by a worker (WEBHOOK_APPLY_IN_WORKER), written
for the whole batch at once: a receiver gets what it would get had each event been applied
in its own request."""

from __future__ import annotations

import pytest

from calls.services.deliveries import deliveries_apply_pending
from forwarding.models import Delivery, EventType
from tests.calls.webhook_helpers import at, vonage_post, vonage_status
from tests.factories import CallFactory, ProviderAccountFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db
STORY = ("started", "ringing", "answered", "ringing", "completed")  # the late ringing: no change


def forwarded(client, *, in_worker: bool, settings, own_url: str) -> list[tuple]:
    """Two calls told the same story in turns, one with its own event URL: per call, each
    delivery's subscription, type, sequence, the call's status it carries and where it goes."""
    settings.WEBHOOK_APPLY_IN_WORKER = in_worker
    account = ProviderAccountFactory()
    legs = {"a": {}, "b": {"event_url": own_url}}
    calls = {
        leg: CallFactory(account=account, provider_call_id=f"{in_worker}-{leg}", options=options)
        for leg, options in legs.items()
    }
    for n, status in enumerate(STORY):
        for leg in legs:
            payload = vonage_status(status, uuid=f"{in_worker}-{leg}", at=at(n))
            assert vonage_post(client, account, payload).status_code == 200
    if in_worker:
        assert deliveries_apply_pending() == len(STORY) * len(legs)
    return [
        (
            leg,
            d.subscription.name,
            d.event_type,
            d.sequence,
            d.payload["data"]["call"]["status"],
            d.payload["data"]["call"]["account"]["name"] == account.name,
            d.url,
        )
        for leg, call in calls.items()
        for d in Delivery.objects.filter(call=call).order_by("id")
    ]


def test_a_batch_forwards_what_each_event_applied_alone_would(
    client, settings, monkeypatch, sends, receiver, django_capture_on_commit_callbacks
):
    monkeypatch.setattr("calls.tasks.deliveries_apply_pending.delay", lambda: None)
    SubscriptionFactory(name="all", url=receiver.url)
    SubscriptionFactory(name="ends", url=receiver.url, event_types=[EventType.ENDED])

    one_by_one = forwarded(client, in_worker=False, settings=settings, own_url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        batched = forwarded(client, in_worker=True, settings=settings, own_url=receiver.url)

    assert batched == one_by_one
    assert [row[2:5] for row in batched if row[:2] == ("a", "all")] == [
        ("call.status_changed", 1, "submitted"),
        ("call.status_changed", 2, "ringing"),
        ("call.status_changed", 3, "answered"),
        ("call.status_changed", 4, "completed"),
        ("call.ended", 5, "completed"),
    ]
    assert [row[1:4] for row in batched if row[0] == "b"][-1] == (
        "Calls' own event URLs",
        "call.ended",
        5,
    )
    # Sent by the worker that applied them, once the batch committed: no send task queued.
    assert not Delivery.objects.filter(call__provider_call_id__startswith="True", status="pending")
    assert sends == []
