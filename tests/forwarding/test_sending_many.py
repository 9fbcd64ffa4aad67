"""One send for many calls (an apply batch's): each call's events still reach the receiver in
order, a call whose receiver refused waits for its retry without holding up the others, and
a send reading more than one round's worth goes round again until every call is out. The
worker that applied a batch sends it itself, unless the receiver is failing or slow."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Call, CallStatus
from calls.services.deliveries import deliveries_apply_pending
from forwarding import services
from forwarding.models import Delivery, DeliveryStatus
from tests.calls.webhook_helpers import store_unapplied
from tests.factories import CallFactory, ProviderAccountFactory, SubscriptionFactory
from tests.fakes.receiver import Receiver
from tests.forwarding.test_delivery_worker import STORY, first_receipts_per_call, play_calls

pytestmark = pytest.mark.django_db


def test_one_send_delivers_every_call_in_order_past_a_refusal(
    receiver, sends, django_capture_on_commit_callbacks
):
    receiver.behave = lambda n: (503, 0) if n == 1 else (200, 0)
    subscription = SubscriptionFactory(url=receiver.url)
    calls = play_calls(3)

    with django_capture_on_commit_callbacks(execute=True):
        services.forwarding_send_calls(
            subscription_id=subscription.pk, call_ids=[c.pk for c in calls]
        )

    refused = receiver.received[0].json()["data"]["call"]["id"]
    assert first_receipts_per_call(receiver) == {
        c.pk: [1, 2, 3, 4] for c in calls if c.pk != refused
    }
    waiting = Delivery.objects.filter(call=refused, status=DeliveryStatus.PENDING)
    assert waiting.count() == 4  # its first to be retried, the rest held back behind it
    assert sends == [(subscription.pk, refused)]  # its retry


def test_a_send_past_one_rounds_read_goes_round_until_all_are_out(receiver, sends, monkeypatch):
    monkeypatch.setattr(services, "SEND_LIMIT", 3)  # less than one call's four events
    subscription = SubscriptionFactory(url=receiver.url)
    calls = play_calls(3)

    services.forwarding_send_calls(subscription_id=subscription.pk, call_ids=[c.pk for c in calls])

    assert first_receipts_per_call(receiver) == {c.pk: [1, 2, 3, 4] for c in calls}
    assert not Delivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists()


def apply_in_a_worker(settings, calls: list[Call]) -> None:
    """The calls' story as stored webhooks, applied in one batch as a worker does."""
    settings.WEBHOOK_APPLY_IN_WORKER = True
    store_unapplied(calls[0].account, calls, STORY)
    assert deliveries_apply_pending() == len(STORY) * len(calls)


@pytest.fixture
def calls(monkeypatch) -> list[Call]:
    monkeypatch.setattr("calls.tasks.deliveries_apply_pending.delay", lambda: None)
    monkeypatch.setattr(services, "_send_later_until", {})
    account = ProviderAccountFactory()
    return [
        CallFactory(
            account=account,
            provider="vonage",
            status=CallStatus.SUBMITTED,
            provider_call_id=str(uuid.uuid4()),
        )
        for _ in range(3)
    ]


def test_the_worker_that_applied_a_batch_sends_it_at_once_in_order(
    settings, calls, receiver, sends, django_capture_on_commit_callbacks
):
    SubscriptionFactory(url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        apply_in_a_worker(settings, calls)

    assert first_receipts_per_call(receiver) == {c.pk: [1, 2, 3, 4] for c in calls}
    assert sends == []  # no send task waited in the queue


def test_a_failing_receivers_events_are_left_to_one_send_task(
    settings, calls, receiver, sends, django_capture_on_commit_callbacks
):
    subscription = SubscriptionFactory(url=receiver.url, failing_since=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        apply_in_a_worker(settings, calls)

    assert receiver.received == []  # applying did not wait on it
    assert sorted(sends) == [(subscription.pk, c.pk) for c in calls]  # one task for the batch


def test_a_slow_receiver_gets_the_rest_through_a_task_and_the_next_batches_too(
    settings, calls, receiver, sends, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "SEND_NOW_FOR", 0.1)
    monkeypatch.setattr(services, "SLOW_POST", 0.2)
    receiver.behave = lambda n: (200, 0.3)
    subscription = SubscriptionFactory(url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        apply_in_a_worker(settings, calls[:2])

    left = {
        (subscription.pk, c.pk)
        for c in calls[:2]
        if Delivery.objects.filter(call=c, status=DeliveryStatus.PENDING).exists()
    }
    assert left and set(sends) == left  # what it had no time for went to a task
    sent = len(receiver.received)
    sends.clear()
    with django_capture_on_commit_callbacks(execute=True):
        apply_in_a_worker(settings, calls[2:])

    assert len(receiver.received) == sent  # the next batch was not sent by the applying worker
    assert sends == [(subscription.pk, calls[2].pk)]


def test_calls_are_posted_side_by_side_each_in_order(receiver, sends):
    receiver.hold_first = services.SEND_THREADS
    subscription = SubscriptionFactory(url=receiver.url)
    calls = play_calls(services.SEND_THREADS)

    services.forwarding_send_calls(subscription_id=subscription.pk, call_ids=[c.pk for c in calls])

    assert first_receipts_per_call(receiver) == {c.pk: [1, 2, 3, 4] for c in calls}
    first = [r.json()["data"]["sequence"] for r in receiver.received[: len(calls)]]
    assert first == [1] * len(calls)  # every call's first went out before any call's second


def test_calls_past_the_read_behind_a_waiting_call_still_go_out(receiver, sends, monkeypatch):
    monkeypatch.setattr(services, "SEND_LIMIT", 3)  # the read holds only the first call's
    subscription = SubscriptionFactory(url=receiver.url)
    first, *others = play_calls(3)
    Delivery.objects.filter(call=first).update(next_attempt_at=timezone.now() + timedelta(hours=1))

    services.forwarding_send_calls(
        subscription_id=subscription.pk, call_ids=[c.pk for c in [first, *others]]
    )

    assert first_receipts_per_call(receiver) == {c.pk: [1, 2, 3, 4] for c in others}


def test_a_receiver_keeping_connections_alive_gets_every_event_over_a_few(receiver, sends):
    subscription = SubscriptionFactory(url=receiver.url)
    calls = play_calls(3)

    services.forwarding_send_calls(subscription_id=subscription.pk, call_ids=[c.pk for c in calls])

    assert first_receipts_per_call(receiver) == {c.pk: [1, 2, 3, 4] for c in calls}
    assert receiver.connections <= len(calls)  # one per sending thread at most, not per event


def test_a_receiver_closing_each_connection_still_gets_every_event_in_order(sends):
    closing = Receiver(keep_alive=False).start()
    try:
        subscription = SubscriptionFactory(url=closing.url)
        calls = play_calls(3)

        services.forwarding_send_calls(
            subscription_id=subscription.pk, call_ids=[c.pk for c in calls]
        )

        assert first_receipts_per_call(closing) == {c.pk: [1, 2, 3, 4] for c in calls}
        assert closing.connections == len(closing.received)
    finally:
        closing.stop()
