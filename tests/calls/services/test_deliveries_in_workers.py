"""WEBHOOK_APPLY_IN_WORKER: the request verifies, stores and answers; workers apply."""

import pytest
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext

from calls.models import Call, CallEvent, CallStatus, WebhookDelivery
from calls.services import deliveries
from calls.services.deliveries import deliveries_apply_pending
from calls.signals import call_changed, calls_changed
from tests.calls.webhook_helpers import (
    UUID,
    at,
    store_unapplied,
    the_call,
    vonage_post,
    vonage_status,
)
from tests.factories import CallFactory, ProviderAccountFactory
from tests.fakes.provider_accounts import vonage_signed_headers
from tests.helpers import wait_for
from voiceapps.models import ProviderAccount

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
def test_a_run_hands_what_is_left_after_its_slice_to_one_next_run(client, settings,
                                                                   monkeypatch):
    settings.WEBHOOK_APPLY_IN_WORKER = True
    monkeypatch.setattr("calls.services.deliveries.SCHEDULE_EVERY", 0)  # ask the cache every time
    monkeypatch.setattr("calls.services.deliveries.APPLY_BATCH", 2)
    monkeypatch.setattr("calls.services.deliveries.APPLY_SLICE", 0)  # a batch, then yield
    scheduled = []
    monkeypatch.setattr("calls.tasks.deliveries_apply_pending.delay",
                        lambda: scheduled.append("task"))
    account = ProviderAccountFactory()
    post_call_progress(client, account)
    scheduled.clear()

    assert deliveries_apply_pending() == 2  # one batch, then the worker is free
    assert scheduled == ["task"]  # the rest is another task's
    # That task has not started: a delivery arriving now joins it instead of adding one.
    vonage_post(client, account, vonage_status("completed", at="2026-01-05T10:01:00.000Z"))
    assert scheduled == ["task"]
    assert deliveries_apply_pending() == 2
    assert deliveries_apply_pending() == 0
    assert the_call(account, UUID).status == CallStatus.COMPLETED
    assert CallEvent.objects.count() == 4  # each applied once


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


def _four_events_in_batches_whose_first_fail(client, monkeypatch, failures: int) -> list:
    """Four stored deliveries of one call, applied two to a batch; the first `failures`
    batches fail as two batches crossing over a new call do. The batches tried, as pks."""
    monkeypatch.setattr("calls.tasks.deliveries_apply_pending.delay", lambda: None)
    monkeypatch.setattr("calls.services.deliveries.APPLY_BATCH", 2)
    account = ProviderAccountFactory()
    post_call_progress(client, account)
    vonage_post(client, account, vonage_status("completed", at="2026-01-05T10:01:00.000Z"))
    batches = []
    record_many = deliveries.call_events_record_many

    def first_batches_deadlock(events):
        if events:  # the last look finds none pending
            batches.append([delivery.pk for delivery, _, _ in events])
        if events and len(batches) <= failures:
            raise OperationalError("deadlock detected")
        return record_many(events)

    monkeypatch.setattr("calls.services.deliveries.call_events_record_many",
                        first_batches_deadlock)
    assert deliveries_apply_pending() == 4
    call = the_call(account, UUID)
    assert call.status == CallStatus.COMPLETED
    # Each delivery applied once, whichever way.
    assert sorted(call.events.values_list("delivery_id", flat=True)) == sorted(
        WebhookDelivery.objects.values_list("pk", flat=True))
    assert not WebhookDelivery.objects.exclude(apply_error="").exists()
    return batches


def _batches_applied(how: str) -> float:
    return deliveries.APPLY_BATCHES.labels(how)._value.get()


@pytest.mark.django_db
def test_a_failed_batch_is_applied_together_on_its_second_try(client, settings, monkeypatch):
    settings.WEBHOOK_APPLY_IN_WORKER = True
    retried, one_by_one = _batches_applied("retried"), _batches_applied("one_by_one")

    batches = _four_events_in_batches_whose_first_fail(client, monkeypatch, failures=1)

    first, second = sorted(WebhookDelivery.objects.values_list("pk", flat=True))[::2]
    assert [batch[0] for batch in batches] == [first, first, second]  # tried again, together
    assert _batches_applied("retried") == retried + 1
    assert _batches_applied("one_by_one") == one_by_one


@pytest.mark.django_db
def test_a_batch_that_fails_twice_is_applied_one_by_one(client, settings, monkeypatch):
    settings.WEBHOOK_APPLY_IN_WORKER = True
    one_by_one = _batches_applied("one_by_one")

    batches = _four_events_in_batches_whose_first_fail(client, monkeypatch, failures=2)

    # Twice the first two together, then each alone (not through the batch's way), then a
    # batch of the last two.
    assert [len(batch) for batch in batches] == [2, 2, 2]
    assert batches[0] == batches[1] != batches[2]
    assert _batches_applied("one_by_one") == one_by_one + 1


def _events_of_three_calls(leg_prefix: str) -> list[dict]:
    """A placed call and two unknown ones, their events shuffled, some sent twice, and a
    recording event that names only its call's conversation."""
    placed, busy, rejected = (f"{leg_prefix}-{name}" for name in ("placed", "busy", "rejected"))

    def status(leg: str, name: str, second: int, **extra) -> dict:
        return vonage_status(name, uuid=leg, at=at(second), conversation_uuid=f"CON-{leg}",
                             **extra)

    answered = status(placed, "answered", 3, start_time=at(3))
    busy_event = status(busy, "busy", 5, detail="busy")
    # The unknown calls' first events come first, so the placed call's events are applied
    # together in memory, and the recording's makes the batch write what came before it.
    return [
        status(busy, "ringing", 1), status(rejected, "rejected", 4, detail="invalid_number"),
        status(placed, "ringing", 2), answered,
        {"call_uuid": placed, "conversation_uuid": f"CON-{placed}", "status": "human",
         "timestamp": at(4)},
        status(placed, "started", 1), answered,
        status(placed, "completed", 30, start_time=at(3), end_time=at(30), duration="27",
               price="0.00570000", rate="0.01270000", network="23410"),
        busy_event,
        {"conversation_uuid": f"CON-{busy}", "recording_url": "https://api.nexmo.com/v1/files/r1",
         "recording_uuid": "r1", "start_time": at(1), "end_time": at(5), "timestamp": at(6)},
        status(busy, "completed", 6), busy_event, status(rejected, "started", 1),
    ]


def _outcome(account, leg_prefix: str, changes: list) -> dict:
    """What a person would see of the three calls, and what the apps above were told."""
    calls = {}
    for call in Call.objects.filter(account=account):
        leg = call.provider_call_id.removeprefix(leg_prefix) or call.conversation_id
        calls[leg] = (
            call.status, call.provider_status, call.direction, call.answered_by,
            call.ringing_at, call.answered_at, call.ended_at, call.duration_seconds,
            call.price, call.failure_detail, call.to_display,
            sorted((e.kind, e.status, e.is_duplicate, e.out_of_order)
                   for e in call.events.all()),
            [change[1:] for change in changes if change[0] == call.pk],
        )
    return calls


@pytest.mark.django_db
def test_a_batch_changes_calls_as_applying_each_event_in_the_request_does(
        client, settings, monkeypatch):
    monkeypatch.setattr("calls.tasks.deliveries_apply_pending.delay", lambda: None)
    changes = []

    def told(sender, call, event, previous_status, created, **kwargs):
        changes.append((call.pk, previous_status, call.status, call.answered_by,
                        event.kind, event.is_duplicate, created))

    call_changed.connect(told, dispatch_uid="test-batch-signals")
    try:
        outcomes = []
        for in_worker, prefix in ((False, "one"), (True, "batch")):
            settings.WEBHOOK_APPLY_IN_WORKER = in_worker
            account = ProviderAccountFactory()
            CallFactory(account=account, provider_call_id=f"{prefix}-placed",
                        status=CallStatus.SUBMITTED)
            for payload in _events_of_three_calls(prefix):
                assert vonage_post(client, account, payload).status_code == 200
            if in_worker:
                assert deliveries_apply_pending() == 13
            outcomes.append(_outcome(account, prefix, changes))
    finally:
        call_changed.disconnect(dispatch_uid="test-batch-signals")

    one_by_one, batched = outcomes
    assert batched == one_by_one
    assert len(batched) == 3 and batched["-busy"][0] == CallStatus.BUSY
    assert not WebhookDelivery.objects.filter(applied_at=None).exists()


@pytest.mark.django_db
def test_a_new_calls_first_event_amid_a_batch_leaves_its_calls_written_once(
        client, settings, monkeypatch):
    settings.WEBHOOK_APPLY_IN_WORKER = True
    monkeypatch.setattr("calls.tasks.deliveries_apply_pending.delay", lambda: None)
    account = ProviderAccountFactory()
    CallFactory(account=account, provider_call_id="placed", status=CallStatus.SUBMITTED)
    for payload in (vonage_status("ringing", uuid="placed", at=at(1)),
                    vonage_status("ringing", uuid="unknown", at=at(1)),  # goes the one-event way
                    vonage_status("answered", uuid="placed", at=at(2))):
        assert vonage_post(client, account, payload).status_code == 200

    with CaptureQueriesContext(connection) as queries:
        assert deliveries_apply_pending() == 3

    # The new call's event did not make the batch write the placed call before it, and
    # then again after.
    table = Call._meta.db_table
    assert len([q for q in queries if q["sql"].startswith(f"UPDATE {table} SET")]) == 1
    assert the_call(account, "placed").status == CallStatus.ANSWERED
    assert the_call(account, "unknown").status == CallStatus.RINGING
    assert CallEvent.objects.filter(call__account=account).count() == 3


@pytest.mark.django_db
def test_a_claimed_batch_reads_each_account_once_for_all_its_deliveries():
    account, other = ProviderAccountFactory(), ProviderAccountFactory()
    calls = [CallFactory(account=account, provider_call_id="leg-1")]
    store_unapplied(account, calls, STATUSES)
    store_unapplied(other, [CallFactory(account=other, provider_call_id="leg-2")], ("started",))

    with transaction.atomic():
        claimed = deliveries._claim_pending(10)

    assert [d.account for d in claimed] == [account] * 3 + [other]
    # One instance per account, shared: not one per delivery.
    assert claimed[0].account is claimed[1].account is claimed[2].account


@pytest.mark.django_db
def test_a_batchs_new_calls_join_it_under_one_lock_of_their_account(client, settings,
                                                                     monkeypatch):
    settings.WEBHOOK_APPLY_IN_WORKER = True
    monkeypatch.setattr("calls.tasks.deliveries_apply_pending.delay", lambda: None)
    account = ProviderAccountFactory()
    for second, status in enumerate(("ringing", "answered"), start=1):
        for leg in ("new-1", "new-2", "new-3"):
            payload = vonage_status(status, uuid=leg, at=at(second), direction="inbound",
                                     conversation_uuid=f"CON-{leg}")
            assert vonage_post(client, account, payload).status_code == 200
    told = []
    calls_changed.connect(lambda sender, changes, **_: told.extend(changes),
                          dispatch_uid="test-new-calls", weak=False)
    try:
        with CaptureQueriesContext(connection) as queries:
            assert deliveries_apply_pending() == 6
    finally:
        calls_changed.disconnect(dispatch_uid="test-new-calls")

    sqls = [q["sql"] for q in queries]
    accounts = ProviderAccount._meta.db_table
    # SQLite has no row locks: its writes are serialised by the database's own lock.
    locks = 1 if connection.features.has_select_for_no_key_update else 0
    assert len([sql for sql in sqls if f"FROM {accounts} WHERE" in sql
                and "FOR NO KEY UPDATE" in sql]) == locks
    # Their events are inserted with the batch's (PostgreSQL's COPY, elsewhere one INSERT of
    # the batch), and the apps above told of them with it.
    batch_inserts = 0 if connection.vendor == "postgresql" else 1
    assert len([sql for sql in sqls
                if sql.startswith(f'INSERT INTO "{CallEvent._meta.db_table}"')]) == batch_inserts
    assert [(change["call"].provider_call_id, change["created"]) for change in told] == [
        ("new-1", True), ("new-2", True), ("new-3", True),
        ("new-1", False), ("new-2", False), ("new-3", False)]
    assert {call.status for call in Call.objects.filter(account=account)} == {
        CallStatus.ANSWERED}


@pytest.mark.django_db
def test_after_a_small_batch_a_worker_waits_so_what_arrives_meanwhile_is_one_batch(
        monkeypatch):
    monkeypatch.setattr("calls.tasks.deliveries_apply_pending.delay", lambda: None)
    account = ProviderAccountFactory()  # two events waiting; three arrive during the wait
    calls = [CallFactory(account=account, provider_call_id=f"leg-{n}",
                         status=CallStatus.SUBMITTED) for n in range(5)]
    store_unapplied(account, calls[:2], ("started",))
    slept = []

    def sleep(seconds):  # three more events arrive while the worker waits to gather
        slept.append(seconds)
        if slept == [deliveries.APPLY_GATHER]:
            store_unapplied(account, calls[2:], ("started",))

    monkeypatch.setattr("calls.services.deliveries.time.sleep", sleep)
    batches = []
    record_many = deliveries.call_events_record_many

    def recorded(events):
        if events:
            batches.append(len(events))
        return record_many(events)

    monkeypatch.setattr("calls.services.deliveries.call_events_record_many", recorded)
    assert deliveries_apply_pending() == 5
    assert batches == [2, 3]
    assert slept[0] == deliveries.APPLY_GATHER
    assert CallEvent.objects.filter(call__in=calls).count() == 5


@pytest.mark.django_db(transaction=True)
def test_a_webhook_is_answered_while_a_worker_holds_its_call_and_account(client, settings,
                                                                         monkeypatch):
    """A provider's webhook never waits on our workers: a worker in the middle of a batch
    (its deliveries claimed, their account and calls locked, not committed) does not hold
    up the next event of one of those calls."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks: SQLite serialises all writes")
    import threading

    from django.db import connections

    settings.WEBHOOK_APPLY_IN_WORKER = True
    monkeypatch.setattr("calls.tasks.deliveries_apply_pending.delay", lambda: None)
    account = ProviderAccountFactory()
    call = CallFactory(account=account, provider_call_id=UUID, status=CallStatus.SUBMITTED)
    store_unapplied(account, [call], ("started", "ringing"))
    # and a call Callboard did not place: creating it locks the account
    store_unapplied(account, [Call(provider_call_id="leg-new")], ("started",))
    holding, release = threading.Event(), threading.Event()
    original = deliveries.call_events_record_many

    def record_then_hold(parsed):
        records = original(parsed)
        holding.set()  # the batch's locks are taken; it has not committed
        release.wait(timeout=30)
        return records

    monkeypatch.setattr(deliveries, "call_events_record_many", record_then_hold)
    worker = threading.Thread(target=lambda: (deliveries_apply_pending(limit=3),
                                              connections.close_all()))
    worker.start()
    try:
        assert holding.wait(timeout=10)
        with connection.cursor() as cursor:  # a wait on the worker's locks fails the test
            cursor.execute("SET lock_timeout = '3s'")
        response = vonage_post(client, account,
                               vonage_status("answered", at="2026-01-05T10:00:05.000Z"))
        assert response.status_code == 200
    finally:
        release.set()
        worker.join(timeout=30)
    assert WebhookDelivery.objects.filter(account=account).count() == 4
