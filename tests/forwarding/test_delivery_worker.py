"""Forwarding through a real Celery worker to a real receiver on loopback: in order per call
and at least once while the receiver fails, hangs and recovers, and nothing lost when the
worker is killed with kill -9 mid-delivery."""

from __future__ import annotations

import uuid
from collections import defaultdict

import pytest
from django.utils import timezone

from calls.models import Call, CallStatus, WebhookDelivery
from calls.services.events import call_event_record
from calls.tasks import deliveries_apply_pending
from forwarding.models import Delivery, DeliveryStatus
from forwarding.services import LEASE, forwarding_send_due
from tests.calls.webhook_helpers import at, store_unapplied, vonage_status
from tests.conftest import XDIST_WORKER, _start_worker
from tests.factories import CallFactory, ProviderAccountFactory, SubscriptionFactory
from tests.fakes.receiver import Receiver
from tests.helpers import tasks_sent_to, wait_for
from tests.security.test_crash_safety import kill_9
from voiceapps.adapters import account_adapter

pytestmark = pytest.mark.django_db(transaction=True)
QUEUE = f"callboard-test-forwarding{XDIST_WORKER}"
STORY = ("ringing", "answered", "completed")
FAST = {"FORWARDING_TIMEOUT_SECONDS": "1", "FORWARDING_FIRST_RETRY_SECONDS": "0.2"}


@pytest.fixture
def queue():
    with tasks_sent_to(QUEUE):
        yield QUEUE


def play_calls(count: int) -> list[Call]:
    """`count` calls, each told ringing, answered and completed by its provider's events."""
    account = ProviderAccountFactory()
    parser = account_adapter(account, webhooks_only=True)
    calls = [
        CallFactory(
            account=account, status=CallStatus.SUBMITTED, provider_call_id=str(uuid.uuid4())
        )
        for _ in range(count)
    ]
    for step, status in enumerate(STORY):
        for call in calls:
            payload = vonage_status(status, uuid=call.provider_call_id, at=at(step))
            call_event_record(account=account, event=parser.parse_event(payload), payload=payload)
    return calls


def first_receipts_per_call(receiver: Receiver) -> dict[int, list[int]]:
    """Each call's sequence numbers in the order their first 2xx arrived."""
    seen: set[str] = set()
    order: dict[int, list[int]] = defaultdict(list)
    for request in receiver.taken():
        if request.headers["webhook-id"] in seen:
            continue  # a redelivery (at least once): the receiver drops it by its id
        seen.add(request.headers["webhook-id"])
        body = request.json()
        order[body["data"]["call"]["id"]].append(body["data"]["sequence"])
    return order


def everything_delivered() -> bool:
    return not Delivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists()


def assert_all_in_order(receiver: Receiver, calls: int) -> None:
    order = first_receipts_per_call(receiver)
    assert len(order) == calls
    for sequences in order.values():
        assert sequences == [1, 2, 3, 4]  # ringing, answered, completed and ended
    ids = set(Delivery.objects.values_list("message_id", flat=True))
    assert ids <= {r.headers["webhook-id"] for r in receiver.taken()}  # none lost


def test_a_receiver_that_fails_hangs_and_recovers_gets_everything_in_order(
    django_db_blocker, queue
):
    # Refusals, then requests left hanging past the timeout, then all is well.
    receiver = Receiver(
        behave=lambda n: (500, 0) if n <= 6 else (200, 1.5) if n <= 9 else (200, 0)
    ).start()
    SubscriptionFactory(url=receiver.url)
    worker = _start_worker(django_db_blocker, queue, **FAST)
    try:
        play_calls(4)
        wait_for(everything_delivered, timeout=90, what="every event delivered")
    finally:
        worker.stop()
        receiver.stop()
    assert [r.answered for r in receiver.received[:6]] == [500] * 6
    assert Delivery.objects.filter(attempts__gt=1).exists()  # retried
    assert Delivery.objects.filter(last_error="").count() == Delivery.objects.count()
    # 4 calls x (ringing, answered, completed + ended)
    assert Delivery.objects.count() == 16
    assert_all_in_order(receiver, calls=4)


@pytest.mark.slow
def test_killing_the_worker_mid_delivery_loses_nothing(django_db_blocker, queue):
    receiver = Receiver(behave=lambda n: (200, 0.15)).start()  # each request takes a while
    SubscriptionFactory(url=receiver.url)
    first = _start_worker(django_db_blocker, queue, **FAST)
    try:
        play_calls(10)  # 40 deliveries
        wait_for(lambda: len(receiver.received) >= 8, timeout=60)
        kill_9(first.process.pid)
        first.process.wait(timeout=10)
        taken_before = len(receiver.taken())
        assert Delivery.objects.filter(status=DeliveryStatus.PENDING).exists()
        second = _start_worker(django_db_blocker, queue, purge=False, **FAST)
        try:
            # The beat's sweep, as if the dead worker's leases had run out.
            forwarding_send_due(now=timezone.now() + LEASE + LEASE)
            wait_for(everything_delivered, timeout=120, what="every event delivered")
        finally:
            second.stop()
    finally:
        receiver.stop()
    assert taken_before < Delivery.objects.count()  # the kill landed mid-way
    assert_all_in_order(receiver, calls=10)


BACKLOG_CALLS = 500  # four webhooks each: a backlog of 2,000 to apply


@pytest.mark.slow
def test_forwarding_goes_out_while_a_backlog_of_webhooks_is_applied(django_db_blocker, queue):
    """One worker process, applying a backlog of webhooks: it takes forwarding's sends in
    between (applying yields after a slice), not only once every webhook is applied."""
    receiver = Receiver().start()
    SubscriptionFactory(url=receiver.url)
    account = ProviderAccountFactory()
    calls = [CallFactory(account=account, provider="vonage", status=CallStatus.SUBMITTED,
                         provider_call_id=str(uuid.uuid4())) for _ in range(BACKLOG_CALLS)]
    total = store_unapplied(account, calls, ("started", "ringing", "answered", "completed"))
    applied = WebhookDelivery.objects.filter(applied_at__isnull=False)
    worker = _start_worker(django_db_blocker, queue, concurrency=1, **FAST)
    try:
        deliveries_apply_pending.delay()
        wait_for(lambda: applied.count() == total, timeout=180, what="the backlog applied")
    finally:
        worker.stop()
        receiver.stop()
    last_applied = max(applied.values_list("applied_at", flat=True))
    assert receiver.received, "nothing was forwarded"
    assert receiver.received[0].at < last_applied.timestamp()
