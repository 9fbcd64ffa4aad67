"""The periodic sweep: a call whose worker died is retried or failed, never dialled twice."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from calls import services, tasks
from calls.models import Call, CallStatus
from portal.services import SYSTEM
from tests.calls.placing import FROM, phone, reload, vonage_setup
from tests.fakes.provider_server import fake_provider_fixture  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch):
    ids: list[int] = []
    monkeypatch.setattr(tasks.submit_call, "delay", ids.append)
    return ids


@pytest.fixture
def call(fake_provider) -> Call:
    setup = vonage_setup(fake_provider)
    placed, _ = services.call_place(actor=SYSTEM, via=services.VIA_API,
                                    application=setup.application, from_number=FROM,
                                    to=phone(), flow={"type": "application"})
    return placed


def age(call: Call, *, created: timedelta, updated: timedelta | None = None, **fields) -> None:
    now = timezone.now()
    Call.objects.filter(pk=call.pk).update(created_at=now - created,
                                           updated_at=now - (updated or created), **fields)


def test_the_sweep_runs_every_minute_from_beat():
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values()
                 if e["task"] == "calls.tasks.sweep_stuck_calls")
    assert entry["schedule"] == 60.0


def test_a_queued_call_nobody_works_on_is_enqueued_again(call, enqueued,
                                                         django_capture_on_commit_callbacks):
    age(call, created=services.STUCK_AFTER + timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        result = services.call_sweep_stuck()

    assert (result.requeued, result.failed) == (1, 0)
    assert enqueued == [call.pk]
    call = reload(call)
    assert call.status == CallStatus.QUEUED
    assert timezone.now() - call.updated_at < services.STUCK_AFTER  # not again next minute
    assert services.call_sweep_stuck().requeued == 0


def test_a_recent_or_retrying_call_is_left_alone(call, enqueued,
                                                 django_capture_on_commit_callbacks):
    age(call, created=timedelta(minutes=30), updated=timedelta(seconds=90))  # awaits a retry
    with django_capture_on_commit_callbacks(execute=True):
        assert services.call_sweep_stuck() == services.SweepResult()
    assert enqueued == []


def test_a_call_queued_too_long_is_failed_saying_it_was_never_sent(call, enqueued):
    age(call, created=services.QUEUED_GIVE_UP + timedelta(minutes=1))
    assert services.call_sweep_stuck().failed == 1

    call = reload(call)
    assert call.status == CallStatus.FAILED
    assert "never sent to the provider" in call.failure_detail
    assert "Celery worker" in call.failure_detail
    assert enqueued == []


def test_a_worker_that_died_while_sending_leaves_the_outcome_unknown_not_resent(
        call, enqueued, django_capture_on_commit_callbacks):
    stale = timezone.now() - services.SEND_STALE_AFTER - timedelta(seconds=5)
    age(call, created=timedelta(minutes=10), send_started_at=stale, attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        result = services.call_sweep_stuck()

    assert result.outcome_unknown == 1 and result.requeued == 0
    call = reload(call)
    assert (call.status, call.outcome_unknown, call.send_started_at) == (
        CallStatus.SUBMITTED, True, None)
    assert "worker stopped while sending this call to Vonage" in call.failure_detail
    assert enqueued == []


def test_a_send_in_progress_is_left_alone(call, enqueued):
    age(call, created=timedelta(minutes=10), send_started_at=timezone.now())
    assert services.call_sweep_stuck() == services.SweepResult()
    assert reload(call).status == CallStatus.QUEUED


def test_an_unsettled_outcome_unknown_call_is_reconciled(call):
    age(call, created=services.RECONCILE_AFTER + timedelta(minutes=1),
        status=CallStatus.SUBMITTED, outcome_unknown=True)
    assert services.call_sweep_stuck().reconciled == 1
    assert reload(call).status == CallStatus.FAILED


def test_the_sweep_task_runs_the_sweep(call, enqueued, django_capture_on_commit_callbacks):
    age(call, created=services.STUCK_AFTER + timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        tasks.sweep_stuck_calls.run()
    assert enqueued == [call.pk]
