"""WEBHOOK_APPLY_IN_WORKER: the request verifies, stores and answers; workers apply."""

import pytest
from django.db import OperationalError

from calls.models import Call, CallEvent, CallStatus, WebhookDelivery
from calls.services import deliveries
from calls.services.deliveries import deliveries_apply_pending
from tests.calls.webhook_helpers import UUID, the_call, vonage_post, vonage_status
from tests.factories import ProviderAccountFactory
from tests.fakes.provider_accounts import vonage_signed_headers
from tests.helpers import wait_for

STATUSES = ("started", "ringing", "answered")


def post_call_progress(client, account) -> None:
    for n, status in enumerate(STATUSES):
        response = vonage_post(client, account,
                               vonage_status(status, at=f"2026-01-05T10:00:0{n}.000Z"))
        assert response.status_code == 200


@pytest.mark.django_db
def test_events_are_answered_at_once_and_one_task_applies_all_stored_meanwhile(
        client, settings, monkeypatch):
    settings.WEBHOOK_APPLY_IN_WORKER = True
    monkeypatch.setattr("calls.services.deliveries.SCHEDULE_EVERY", 0)  # ask the cache every time
    scheduled = []
    monkeypatch.setattr("calls.tasks.deliveries_apply_pending.delay",
                        lambda: scheduled.append("task"))
    account = ProviderAccountFactory()

    post_call_progress(client, account)
    assert not CallEvent.objects.exists()  # stored and answered, not applied yet
    assert WebhookDelivery.objects.filter(verified=True, applied_at=None).count() == 3
    assert scheduled == ["task"]

    assert deliveries_apply_pending() == 3
    assert the_call(account, UUID).status == CallStatus.ANSWERED
    assert CallEvent.objects.count() == 3
    # The run cleared the flag: the next delivery schedules the next run.
    vonage_post(client, account, vonage_status("completed", at="2026-01-05T10:01:00.000Z"))
    assert scheduled == ["task", "task"]


@pytest.mark.django_db
def test_a_replay_is_still_refused_in_the_request(client, settings, monkeypatch):
    settings.WEBHOOK_APPLY_IN_WORKER = True
    monkeypatch.setattr("calls.tasks.deliveries_apply_pending.delay", lambda: None)
    account = ProviderAccountFactory()
    body = b'{"uuid":"x","status":"ringing"}'
    headers = vonage_signed_headers(body)
    url = f"/hooks/{account.webhook_token}/events"
    statuses = [client.post(url, data=body, content_type="application/json",
                            headers=headers).status_code for _ in range(2)]
    assert statuses == [200, 401]
    assert deliveries_apply_pending() == 1  # the refused copy is never applied


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_applies_the_events(client, settings, celery_worker):
    settings.WEBHOOK_APPLY_IN_WORKER = True
    account = ProviderAccountFactory()
    post_call_progress(client, account)
    call = wait_for(lambda: Call.objects.filter(
        account=account, provider_call_id=UUID, status=CallStatus.ANSWERED).first())
    assert call.events.count() == len(STATUSES)
    assert not WebhookDelivery.objects.filter(applied_at=None).exists()


@pytest.mark.django_db
def test_workers_apply_in_batches_and_a_failed_batch_one_by_one(client, settings, monkeypatch):
    settings.WEBHOOK_APPLY_IN_WORKER = True
    monkeypatch.setattr("calls.tasks.deliveries_apply_pending.delay", lambda: None)
    monkeypatch.setattr("calls.services.deliveries.APPLY_BATCH", 2)
    account = ProviderAccountFactory()
    post_call_progress(client, account)
    vonage_post(client, account, vonage_status("completed", at="2026-01-05T10:01:00.000Z"))
    batches = []
    lock_calls = deliveries._lock_calls

    def first_batch_deadlocks(readable):
        batches.append([delivery.pk for delivery, _, _ in readable])
        if len(batches) == 1:
            raise OperationalError("deadlock detected")
        lock_calls(readable)

    monkeypatch.setattr("calls.services.deliveries._lock_calls", first_batch_deadlocks)

    assert deliveries_apply_pending() == 4
    # The first batch failed and its two were applied one by one; then a batch of two.
    assert [len(batch) for batch in batches if batch] == [2, 2]
    call = the_call(account, UUID)
    assert call.status == CallStatus.COMPLETED
    assert call.events.count() == 4
    assert not WebhookDelivery.objects.exclude(apply_error="").exists()
