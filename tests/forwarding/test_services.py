"""Forwarding's outbox and sending: which events a call change makes, for whom, signed so a
Standard Webhooks library accepts it, in order per call, retried, given up and disabled."""

from __future__ import annotations

import ipaddress
import socket
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from calls.models import Call, CallStatus
from calls.services.events import call_event_record
from forwarding import services
from forwarding.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    EventType,
    Subscription,
)
from portal.models import AuditEntry
from portal.services import SYSTEM
from tests.calls.webhook_helpers import CONVERSATION, UUID, at, vonage_status
from tests.factories import CallFactory, ProviderAccountFactory, SubscriptionFactory
from tests.forwarding.test_delivery_worker import play_calls
from voiceapps.adapters import account_adapter

pytestmark = pytest.mark.django_db
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def record(account, payload):
    event = account_adapter(account, webhooks_only=True).parse_event(payload)
    return call_event_record(account=account, event=event, payload=payload)


@pytest.fixture
def account():
    return ProviderAccountFactory()


@pytest.fixture
def call(account) -> Call:
    return CallFactory(
        account=account,
        status=CallStatus.SUBMITTED,
        provider_call_id=UUID,
        conversation_id=CONVERSATION,
        tag={"team": "sales"},
    )


def send_all(subscription: Subscription, call: Call) -> str:
    return services.forwarding_send(subscription_id=subscription.pk, call_id=call.pk)


def test_a_call_story_becomes_ordered_events_a_standard_webhooks_library_verifies(
    account, call, receiver, sends, django_capture_on_commit_callbacks
):
    subscription = SubscriptionFactory(url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        record(account, vonage_status("ringing", at=at(1)))
    record(account, vonage_status("ringing", at=at(1)))  # a duplicate: nothing to tell
    record(account, vonage_status("answered", at=at(2)))
    record(
        account,
        {
            "call_uuid": UUID,
            "conversation_uuid": CONVERSATION,
            "status": "human",
            "timestamp": at(3),
        },
    )
    record(account, vonage_status("completed", at=at(9), duration="7", price="0.02"))

    assert send_all(subscription, call) == "done"
    assert sends == [(subscription.pk, call.pk)]  # sent once the change committed
    bodies = [Webhook(SECRET).verify(r.body, r.headers) for r in receiver.received]
    assert [b["type"] for b in bodies] == [
        "call.status_changed",
        "call.status_changed",
        "call.amd",
        "call.status_changed",
        "call.ended",
    ]
    assert [b["data"]["sequence"] for b in bodies] == [1, 2, 3, 4, 5]
    assert [b["data"]["call"]["status"] for b in bodies] == [
        "ringing",
        "answered",
        "answered",
        "completed",
        "completed",
    ]
    assert bodies[2]["data"]["call"]["answered_by"] == "human"
    assert bodies[4]["data"]["previous_status"] == "answered"
    assert bodies[4]["data"]["call"]["duration_seconds"] == 7
    assert bodies[4]["version"] == 1
    assert all(r.headers["webhook-id"].startswith("msg_") for r in receiver.received)
    assert not Delivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists()


def test_a_tampered_body_or_another_secret_fails_verification(account, call, receiver, sends):
    SubscriptionFactory(url=receiver.url, event_types=[EventType.STATUS_CHANGED])
    record(account, vonage_status("ringing", at=at(1)))
    send_all(Subscription.objects.get(), call)
    request = receiver.received[0]
    with pytest.raises(Exception, match="signature"):
        Webhook(SECRET).verify(request.body.replace(b"ringing", b"answered"), request.headers)
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 32).verify(request.body, request.headers)


def test_subscriptions_get_only_the_types_accounts_applications_and_tags_they_want(
    account, call, sends
):
    wanted = [
        SubscriptionFactory(event_types=[EventType.ENDED]),
        SubscriptionFactory(account=account),
        SubscriptionFactory(account=ProviderAccountFactory()),
        SubscriptionFactory(tag="team:sales"),
        SubscriptionFactory(tag="team:support"),
        SubscriptionFactory(tag="team"),
    ]
    record(account, vonage_status("ringing", at=at(1)))
    record(account, vonage_status("busy", at=at(2)))
    got = {
        s.name: sorted(Delivery.objects.filter(subscription=s).values_list("event_type", flat=True))
        for s in wanted
    }
    everything = ["call.ended", "call.status_changed", "call.status_changed"]
    assert list(got.values()) == [["call.ended"], everything, [], everything, [], everything]


def test_a_disabled_subscription_gets_nothing_new(account, call, sends):
    SubscriptionFactory(enabled=False)
    record(account, vonage_status("ringing", at=at(1)))
    assert not Delivery.objects.exists()


def test_a_later_event_waits_while_an_earlier_one_is_retried(account, call, receiver, sends):
    receiver.behave = lambda n: (503, 0) if n == 1 else (200, 0)
    subscription = SubscriptionFactory(url=receiver.url)
    record(account, vonage_status("ringing", at=at(1)))
    record(account, vonage_status("answered", at=at(2)))

    assert send_all(subscription, call) == "waiting"
    first, second = Delivery.objects.order_by("id")
    assert (first.status, first.attempts, first.last_status_code) == ("pending", 1, 503)
    assert "answered 503" in first.last_error
    assert first.next_attempt_at > timezone.now() + timedelta(seconds=4)
    assert (second.status, second.attempts) == ("pending", 0)  # held back: order per call
    assert Subscription.objects.get().failing_since is not None

    with time_machine.travel(first.next_attempt_at + timedelta(seconds=1)):
        assert send_all(subscription, call) == "done"
    assert [r.json()["data"]["call"]["status"] for r in receiver.taken()] == ["ringing", "answered"]
    assert Subscription.objects.get().failing_since is None


def test_an_endless_answer_is_cut_after_its_excerpt(account, call, receiver, sends):
    receiver.endless_answer = True
    subscription = SubscriptionFactory(url=receiver.url)
    record(account, vonage_status("ringing", at=at(1)))

    assert send_all(subscription, call) == "done"
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code == 200 and attempt.response_excerpt == "x" * services.EXCERPT
    # The sender hung up after the excerpt instead of reading on, so a receiver's answer
    # cannot hold a sending thread or fill its memory.
    assert receiver.hung_up.wait(5)


def test_a_binary_answer_is_kept_as_its_excerpt_and_the_delivery_is_done(
    account, call, receiver, sends
):
    # A NUL in it crashed recording the attempt (PostgreSQL stores none): the delivery was
    # sent again and again.
    receiver.answer_body = b"\x89PNG\r\n\x1a\n\x00\x00"
    subscription = SubscriptionFactory(url=receiver.url)
    record(account, vonage_status("ringing", at=at(1)))

    assert send_all(subscription, call) == "done"
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code == 200 and attempt.response_excerpt.endswith("\x1a\n\ufffd\ufffd")
    assert len(receiver.received) == 1


def test_the_wait_doubles_up_to_an_hour():
    assert [services.backoff(n).total_seconds() for n in (1, 2, 3, 4, 12, 30)] == [
        5,
        10,
        20,
        40,
        3600,
        3600,
    ]


def test_after_a_day_a_delivery_is_failed_and_the_next_goes(account, call, receiver, sends):
    receiver.behave = lambda n: (500, 0)
    subscription = SubscriptionFactory(url=receiver.url)
    record(account, vonage_status("ringing", at=at(1)))
    record(account, vonage_status("answered", at=at(2)))
    send_all(subscription, call)
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1)):
        send_all(subscription, call)
    statuses = list(Delivery.objects.order_by("id").values_list("status", "attempts"))
    # The first is given up after its second try; the next, as old, is then tried (not held
    # back behind one that will never arrive) and given up too.
    assert statuses == [("failed", 2), ("failed", 1)]
    assert len(receiver.received) == 3


def test_a_receiver_down_for_days_disables_the_subscription_with_a_notice(
    account, call, receiver, sends, settings
):
    receiver.behave = lambda n: (500, 0)
    subscription = SubscriptionFactory(url=receiver.url)
    record(account, vonage_status("ringing", at=at(1)))
    send_all(subscription, call)
    later = timezone.now() + timedelta(seconds=settings.FORWARDING_DISABLE_AFTER_SECONDS + 60)
    with time_machine.travel(later):
        record(account, vonage_status("answered", at=at(2)))
        Delivery.objects.update(next_attempt_at=timezone.now())
        send_all(subscription, call)
    subscription.refresh_from_db()
    assert not subscription.enabled
    assert "no delivery has succeeded since" in subscription.disabled_reason
    assert AuditEntry.objects.filter(action="forwarding.disable").exists()
    assert send_all(subscription, call) == "disabled"

    receiver.behave = lambda n: (200, 0)
    services.subscription_enable(actor=SYSTEM, subscription=subscription)
    Delivery.objects.update(next_attempt_at=timezone.now())
    assert send_all(subscription, call) == "done"
    assert not Delivery.objects.filter(status="pending").exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",  # cloud metadata
        "http://10.0.0.5/events",
        "http://[::1]:8080/events",
        "file:///etc/passwd",
    ],
)
def test_an_internal_url_is_refused_naming_the_field(url):
    with pytest.raises(ValidationError) as refused:
        services.subscription_create(
            actor=SYSTEM, values={"name": "x", "url": url, "event_types": [EventType.ENDED]}
        )
    assert "url" in refused.value.message_dict
    assert not Subscription.objects.exists()


def test_an_allowed_internal_host_is_accepted(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["10.0.0.5"]
    subscription, secret = services.subscription_create(
        actor=SYSTEM,
        values={"name": "x", "url": "http://10.0.0.5/events", "event_types": [EventType.ENDED]},
    )
    assert secret.startswith("whsec_") and subscription.secret() == secret
    assert secret not in str(AuditEntry.objects.get().changes)


def test_a_url_that_turns_internal_after_saving_is_not_requested(account, call, sends, settings):
    subscription = SubscriptionFactory(url="http://10.0.0.5:9/events")
    record(account, vonage_status("ringing", at=at(1)))
    send_all(subscription, call)
    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and "OUTBOUND_ALLOWED_HOSTS" in delivery.last_error


def test_a_name_that_rebinds_to_an_internal_address_is_not_posted_to(
    account, call, receiver, sends, settings, monkeypatch
):
    """DNS rebinding: the round's check saw a public address, the connection reached loopback."""
    subscription = SubscriptionFactory(url=receiver.url.replace("127.0.0.1", "localhost"))
    settings.OUTBOUND_ALLOWED_HOSTS = []
    monkeypatch.setattr("portal.urlsafety._resolve",
                        lambda host, port: [ipaddress.ip_address("93.184.215.14")])
    record(account, vonage_status("ringing", at=at(1)))

    send_all(subscription, call)

    assert receiver.received == []
    delivery = Delivery.objects.get()
    assert delivery.status == "pending"
    assert "does not send requests to localhost (127.0.0.1)" in delivery.last_error


def test_a_round_checks_each_url_once_not_each_post(account, receiver, sends, monkeypatch):
    checked: list[str] = []
    monkeypatch.setattr(services, "check_outbound_url", checked.append)
    subscription = SubscriptionFactory(url=receiver.url)
    calls = play_calls(3)

    services.forwarding_send_calls(subscription_id=subscription.pk, call_ids=[c.pk for c in calls])

    assert len(receiver.received) == 12
    assert checked == [receiver.url]  # one round sent them all; the next found none


@pytest.mark.parametrize(("hang", "error"), [
    (True, "No answer within 0.5 s."),
    (False, "Could not connect: NewConnectionError."),
])
def test_a_receiver_that_hangs_or_is_not_there_is_told_apart(
    account, call, receiver, sends, settings, hang, error
):
    settings.FORWARDING_TIMEOUT_SECONDS = 0.5
    receiver.behave = lambda n: (200, 1.0)
    url = receiver.url if hang else f"http://127.0.0.1:{unused_port()}/events"
    subscription = SubscriptionFactory(url=url)
    record(account, vonage_status("ringing", at=at(1)))

    send_all(subscription, call)

    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and delivery.last_error == error


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_calls_own_event_url_gets_its_events_while_callboard_keeps_them(account, receiver, sends):
    call = CallFactory(
        account=account,
        status=CallStatus.SUBMITTED,
        provider_call_id=UUID,
        conversation_id=CONVERSATION,
        options={"event_url": receiver.url},
    )
    record(account, vonage_status("ringing", at=at(1)))
    own = Subscription.objects.get(for_call_event_urls=True)
    send_all(own, call)
    assert receiver.received[0].json()["data"]["call"]["id"] == call.pk
    assert Call.objects.get().status == CallStatus.RINGING  # Callboard saw it too


def test_replay_sends_again_with_the_same_id_after_what_is_pending(account, call, receiver, sends):
    subscription = SubscriptionFactory(url=receiver.url)
    record(account, vonage_status("ringing", at=at(1)))
    record(account, vonage_status("answered", at=at(2)))
    send_all(subscription, call)
    first = Delivery.objects.order_by("id").first()
    services.delivery_replay(actor=SYSTEM, delivery=first)
    copies = services.deliveries_replay_range(
        actor=SYSTEM,
        subscription=subscription,
        since=timezone.now() - timedelta(minutes=1),
        until=timezone.now() + timedelta(minutes=1),
    )
    assert len(copies) == 2  # the originals, not the earlier replay
    send_all(subscription, call)
    ids = [r.headers["webhook-id"] for r in receiver.taken()]
    assert ids[2:] == [ids[0], ids[0], ids[1]]
    now = timezone.now()
    with pytest.raises(ValidationError):
        services.deliveries_replay_range(
            actor=SYSTEM, subscription=subscription, since=now, until=now
        )


def test_a_stale_lease_is_let_go_by_the_sweep(account, call, sends):
    subscription = SubscriptionFactory()
    record(account, vonage_status("ringing", at=at(1)))
    Delivery.objects.update(locked_until=timezone.now() + services.LEASE)
    assert services.forwarding_send_due() == 0  # a worker is on it
    assert services.forwarding_send_due(now=timezone.now() + timedelta(minutes=2)) == 1
    assert sends == [(subscription.pk, call.pk)]
