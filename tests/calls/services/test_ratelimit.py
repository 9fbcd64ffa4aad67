"""Each account's calls-per-second limit holds across processes: counted at the provider.

How fast calls actually go out is measured by bench/placement.py, not asserted here.
"""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from calls.models import Call, CallEvent, CallStatus
from calls.services import ratelimit, sending
from tests.calls.placing import phone, place, voicegateway_setup
from tests.conftest import TEST_QUEUE, _start_worker
from tests.factories import CallEventFactory
from tests.helpers import wait_for


def most_in_one_second(arrivals: list[float]) -> int:
    """The largest number of requests in any window [t, t + 1 s) starting at a request."""
    arrivals = sorted(arrivals)
    return max(sum(1 for t in arrivals if start <= t < start + 1.0) for start in arrivals)


def take(account, now: float) -> float:
    with transaction.atomic():
        return ratelimit.slot_take(account=account, now=now)


def sent(setup, *, answered_at: float | None = None) -> Call:
    """A call of the setup's account with a request in flight, or answered at that moment."""
    call = place(setup)
    if answered_at is None:
        Call.objects.filter(pk=call.pk).update(send_started_at=timezone.now())
    else:
        CallEventFactory(call=call, source="callboard", kind=ratelimit.SEND_EVENT,
                         received_at=datetime.fromtimestamp(answered_at, tz=UTC))
    return call


@pytest.mark.parametrize("cps, expected", [(3, (3, 1.0)), (2.5, (2, 0.8)), (0.5, (1, 2.0))])
def test_the_window_holds_the_whole_calls_of_one_second(cps, expected):
    assert ratelimit.window(cps) == pytest.approx(expected)


def seconds(expected: float):
    return pytest.approx(expected, abs=1e-6)  # Unix times in floats: a microsecond or so


@pytest.mark.django_db
def test_two_sends_are_never_less_than_half_an_interval_apart(fake_provider):
    account = voicegateway_setup(fake_provider, cps=4).account  # one interval: 0.25 s
    now = time.time()
    assert take(account, now) == 0.0
    assert take(account, now + 0.1) == seconds(0.025)
    assert take(account, now + 0.13) == 0.0
    assert take(account, now + 5.0) == 0.0  # after a pause the schedule starts afresh
    assert take(account, now + 5.1) == seconds(0.025)


@pytest.mark.django_db
def test_a_late_send_does_not_push_the_schedule_back(fake_provider):
    """Each send is due one interval after the previous one was due: counted from when a
    send went out, every interval would grow by how late it started (20 ms + 7 ms at 50/s)."""
    account = voicegateway_setup(fake_provider, cps=4).account
    now = time.time()
    assert take(account, now) == 0.0  # the next is due at 0.125
    assert take(account, now + 0.13) == 0.0  # 5 ms late: the next is due at 0.375
    assert take(account, now + 0.4) == 0.0  # 25 ms late: the next is due at 0.625
    assert take(account, now + 0.6) == seconds(0.025)  # not at 0.65
    assert take(account, now + 0.63) == 0.0


@pytest.mark.django_db
def test_requests_in_flight_or_answered_within_the_second_hold_the_places(fake_provider):
    setup = voicegateway_setup(fake_provider, cps=2)
    # One moment for the answers and the take: a loaded machine may spend a while placing.
    now = time.time()
    sent(setup)  # in flight
    sent(setup, answered_at=now - 0.3)
    sent(setup, answered_at=now - 1.5)  # out of the window already
    assert take(setup.account, now) == pytest.approx(0.7, abs=0.001)


@pytest.mark.django_db
def test_a_place_is_held_from_when_the_answer_came_back_not_when_it_was_stored(
        fake_provider, monkeypatch):
    setup = voicegateway_setup(fake_provider, cps=1)
    setup.accept()
    call = place(setup)
    answers: list[float] = []
    record = sending.call_outcome_record

    def slow_record(*args, **kwargs):
        answers.append(time.time())
        time.sleep(0.3)  # a busy database: the answer is stored late
        return record(*args, **kwargs)

    monkeypatch.setattr(sending, "call_outcome_record", slow_record)
    sending.call_submit(call_id=call.pk)

    answered = CallEvent.objects.get(call=call, kind=ratelimit.SEND_EVENT).received_at
    # Taken before the store began, not 0.3 s later when it ended.
    assert 0 <= answers[0] - answered.timestamp() < 0.2
    # Past the pacing (the next send was due half a second after this one), the place is
    # still held: until one second after the answer came back.
    assert take(setup.account, answered.timestamp() + 0.6) == seconds(0.4)


@pytest.mark.django_db
def test_with_every_place_in_flight_the_caller_looks_again_soon(fake_provider):
    setup = voicegateway_setup(fake_provider, cps=1)
    call = sent(setup)
    assert take(setup.account, time.time()) == ratelimit.POLL
    stale = timezone.now() - timedelta(seconds=ratelimit.IN_FLIGHT_LIMIT + 1)
    Call.objects.filter(pk=call.pk).update(send_started_at=stale, updated_at=stale)
    assert take(setup.account, time.time()) == 0.0  # a send that died holds nothing for ever


@pytest.mark.django_db
def test_each_account_has_its_own_places(fake_provider):
    first = voicegateway_setup(fake_provider, cps=1)
    second = voicegateway_setup(fake_provider, cps=1)
    sent(first)
    assert take(second.account, time.time()) == 0.0
    assert take(first.account, time.time()) > 0


def test_windows_are_counted_from_every_request():
    assert most_in_one_second([0.0, 0.5, 0.99, 1.0, 3.0]) == 3
    assert most_in_one_second([0.0, 0.55, 1.1, 1.65]) == 2


@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_together_never_exceed_the_accounts_rate(
        fake_provider, celery_worker, django_db_blocker):
    setup = voicegateway_setup(fake_provider, cps=2)
    setup.accept_all()
    second_worker = _start_worker(django_db_blocker, TEST_QUEUE)  # as the fixture's
    try:
        for n in range(8):
            place(setup, to=phone(f"+3161234560{n}"))
        wait_for(lambda: Call.objects.filter(status=CallStatus.SUBMITTED).count() == 8,
                 timeout=60)
    finally:
        second_worker.stop()

    assert len(setup.arrivals) == 8  # every call sent once
    assert most_in_one_second(setup.arrivals) <= 2
    for worker in (celery_worker, second_worker):  # both workers sent calls
        assert "calls.tasks.call_submit" in worker.log()


@pytest.mark.django_db(transaction=True)
def test_an_answer_stored_while_the_slot_is_taken_still_holds_its_place(
        fake_provider, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("on SQLite the taker's write lock keeps the answer out until it is done")
    setup = voicegateway_setup(fake_provider, cps=1)
    call = sent(setup)  # in flight: the one place is held

    def answer_meanwhile() -> None:
        # Another worker's answer: the call leaves flight and its answer is recorded, in one
        # commit that lands after the taker locked the slot and before it counts.
        with transaction.atomic():
            Call.objects.filter(pk=call.pk).update(send_started_at=None,
                                                   updated_at=timezone.now())
            CallEventFactory(call=call, source="callboard",
                             kind=ratelimit.SEND_EVENT)
        connections.close_all()

    held = ratelimit._held

    def answered_first(*args, **kwargs):
        other = threading.Thread(target=answer_meanwhile)
        other.start()
        other.join()
        return held(*args, **kwargs)

    monkeypatch.setattr(ratelimit, "_held", answered_first)

    assert take(setup.account, time.time()) > 0  # held, now by the answer
