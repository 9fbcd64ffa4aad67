"""Retention: old raw payloads are removed and old calls' numbers masked, on the admin's terms."""

from datetime import timedelta

import pytest
from django.utils import timezone

from calls import tasks
from calls.models import Call, CallStatus, WebhookDelivery
from calls.services.retention import mask_number, retention_apply
from portal.models import AuditEntry, RetentionPolicy
from portal.services import SYSTEM, audit_record
from tests.factories import (
    AnswerRequestFactory,
    CallEventFactory,
    CallFactory,
    ProviderAccountFactory,
    WebhookDeliveryFactory,
)
from tests.helpers import wait_for

DAY = timedelta(days=1)


@pytest.mark.parametrize(("number", "masked"), [
    ("+31612345678", "+31•••••••78"),
    ("31612345678", "+31•••••••78"),  # as Vonage writes it
    ("+1 415 555 0100", "+1••••••••00"),
    ("+447700900123", "+44••••••••23"),
    ("sip:alice@example.com", "•••••••••••••••••••om"),
    ("+31•••••••78", "+31•••••••78"),  # masked already: left alone
])
def test_a_masked_number_keeps_its_country_code_and_last_two_digits(number, masked):
    assert mask_number(number) == masked


def delivery(age: timedelta, **fields) -> WebhookDelivery:
    return WebhookDeliveryFactory(
        endpoint="events", method="POST", path="/hooks/x/events",
        headers={"Content-Type": "application/json", "User-Agent": "Vonage"},
        body=b'{"status":"answered"}', query="a=1", received_at=timezone.now() - age,
        verified=True, applied_at=timezone.now() - age, **fields)


def old_call(account, age: timedelta, to: str = "+31612345678") -> Call:
    call = CallFactory(
        account=account, provider="vonage", from_number="+31201234567", to_display=to,
        to_endpoint={"type": "phone", "number": to.lstrip("+")}, status=CallStatus.COMPLETED,
        provider_request={"body": {"to": [{"type": "phone", "number": to.lstrip("+")}],
                                   "from": {"type": "phone", "number": "31201234567"}}},
    )
    Call.objects.filter(pk=call.pk).update(created_at=timezone.now() - age)
    raw = delivery(age, account=account)
    CallEventFactory(call=call, delivery=raw, kind="status", status="completed",
                     payload={"to": to.lstrip("+"), "from": "31201234567",
                              "status": "completed"})
    AnswerRequestFactory(call=call, method="GET", status_code=200, latency_ms=3,
                         params={"to": to.lstrip("+"), "from": "31201234567"})
    audit_record(actor=SYSTEM, action="call.place", obj=Call.objects.get(pk=call.pk),
                 changes={"to": to, "from": "+31201234567"})
    return Call.objects.get(pk=call.pk)


def set_policy(payload_days: int | None, masking_days: int | None) -> None:
    policy = RetentionPolicy.load()
    policy.webhook_payload_days = payload_days
    policy.number_masking_days = masking_days
    policy.save()


def test_old_payloads_are_removed_and_their_verdict_kept(db):
    set_policy(30, None)
    old = delivery(31 * DAY, rejection_reason="")
    rejected = delivery(40 * DAY, rejection_reason="The signature does not match.")
    recent = delivery(29 * DAY)

    summary = retention_apply()

    assert summary["payloads_cleared"] == 2
    for row in (old, rejected):
        row.refresh_from_db()
        assert bytes(row.body) == b""
        assert row.headers == {}
        assert row.query == ""
        assert row.path == "/hooks/x/events"  # the row and its verdict stay
    rejected.refresh_from_db()
    assert rejected.rejection_reason == "The signature does not match."
    recent.refresh_from_db()
    assert bytes(recent.body) == b'{"status":"answered"}'
    assert recent.headers["User-Agent"] == "Vonage"


def test_old_calls_numbers_are_masked_everywhere_they_were_written(db):
    set_policy(None, 90)
    account = ProviderAccountFactory()
    call = old_call(account, 91 * DAY)
    recent = old_call(account, 89 * DAY, to="+31687654321")

    summary = retention_apply()

    assert summary["calls_masked"] == 1
    call.refresh_from_db()
    assert call.to_display == "+31•••••••78"
    assert call.from_number == "+31•••••••67"
    assert call.to_endpoint == {"type": "phone", "number": "+31•••••••78"}
    assert "31612345678" not in str(call.provider_request)
    assert "31201234567" not in str(call.provider_request)
    event = call.events.get()
    assert event.payload == {"to": "+31•••••••78", "from": "+31•••••••67",
                             "status": "completed"}
    assert event.kind == "status"  # the timeline keeps what happened
    assert call.answer_requests.get().params == {"to": "+31•••••••78", "from": "+31•••••••67"}
    entry = AuditEntry.objects.get(action="call.place", object_id=str(call.pk))
    assert entry.changes == {"to": "+31•••••••78", "from": "+31•••••••67"}
    assert "612345678" not in entry.object_repr
    assert bytes(event.delivery.body) == b""  # the raw request held the numbers too
    recent.refresh_from_db()
    assert recent.to_display == "+31687654321"
    assert bytes(recent.events.get().delivery.body) != b""


def test_masking_twice_changes_nothing_and_continues_where_it_stopped(db):
    set_policy(None, 90)
    account = ProviderAccountFactory()
    call = old_call(account, 100 * DAY)
    retention_apply()
    call.refresh_from_db()
    first = (call.to_display, call.from_number, call.to_endpoint)
    later = old_call(account, 89 * DAY, to="+31687654321")

    again = retention_apply(now=timezone.now() + 2 * DAY)

    assert again["calls_masked"] == 1  # only the call that has aged past 90 days since
    call.refresh_from_db()
    assert (call.to_display, call.from_number, call.to_endpoint) == first
    later.refresh_from_db()
    assert later.to_display == "+31•••••••21"


def test_empty_settings_keep_everything(db):
    set_policy(None, None)
    account = ProviderAccountFactory()
    call = old_call(account, 4000 * DAY)

    summary = retention_apply()

    assert summary == {"payloads_cleared": 0, "calls_masked": 0, "recordings_deleted": 0,
                       "transcripts_deleted": 0}
    call.refresh_from_db()
    assert call.to_display == "+31612345678"
    assert bytes(call.events.get().delivery.body) != b""


def test_the_defaults_are_thirty_days_of_payloads_and_half_a_year_of_numbers(db):
    policy = RetentionPolicy.load()
    assert (policy.webhook_payload_days, policy.number_masking_days) == (30, 180)


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_periodic_task(celery_worker, settings):
    assert settings.CELERY_BEAT_SCHEDULE["calls-retention"]["task"] == tasks.retention_apply.name
    set_policy(30, 90)
    old = delivery(31 * DAY)

    tasks.retention_apply.delay()

    wait_for(lambda: RetentionPolicy.load().last_run_at is not None, timeout=30)
    old.refresh_from_db()
    assert bytes(old.body) == b""
    assert RetentionPolicy.load().last_run == {"payloads_cleared": 1, "calls_masked": 0,
                                               "recordings_deleted": 0,
                                               "transcripts_deleted": 0}


# The admin settings page ----------------------------------------------------------------

def test_an_admin_sees_and_changes_the_retention_settings(client_for, admin_user):
    client = client_for(admin_user)
    page = client.get("/settings/").content.decode()
    assert "Keep raw webhook payloads for (days)" in page
    assert 'value="30"' in page
    assert "Not run yet" in page

    response = client.post("/settings/", {"webhook_payload_days": "7",
                                          "number_masking_days": ""}, follow=True)

    policy = RetentionPolicy.load()
    assert (policy.webhook_payload_days, policy.number_masking_days) == (7, None)
    assert "Retention settings saved" in response.content.decode()
    entry = AuditEntry.objects.get(action="retention.update")
    assert entry.actor == admin_user
    assert entry.changes == {"webhook_payload_days": [30, 7], "number_masking_days": [180, None]}


def test_the_page_shows_what_the_last_run_did(client_for, admin_user):
    set_policy(30, None)
    delivery(31 * DAY)
    retention_apply()

    page = client_for(admin_user).get("/settings/").content.decode()

    assert "Payloads removed</dt><dd>1</dd>" in page


def test_zero_days_is_refused_with_a_message_on_the_field(client_for, admin_user):
    response = client_for(admin_user).post("/settings/", {"webhook_payload_days": "0",
                                                          "number_masking_days": "90"})

    assert response.status_code == 200
    assert 'id="id_webhook_payload_days_error"' in response.content.decode()
    assert RetentionPolicy.load().webhook_payload_days == 30
    assert not AuditEntry.objects.filter(action="retention.update").exists()


@pytest.mark.parametrize("persona", ["operator", "viewer", "outsider"])
def test_only_admins_open_the_settings(client_for, personas, persona):
    client = client_for(personas[persona])
    assert client.get("/settings/").status_code == 403
    assert client.post("/settings/", {"webhook_payload_days": "1"}).status_code == 403
    assert RetentionPolicy.load().webhook_payload_days == 30
