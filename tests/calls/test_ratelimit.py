"""Each account's calls-per-second limit holds across processes: counted at the provider.

How fast calls actually go out is measured in bench/test_call_rate.py, not asserted here.
"""


import pytest

from calls import ratelimit, services
from calls.models import Call, CallStatus
from portal.services import SYSTEM
from tests.calls.placing import FROM, phone, voicegateway_setup
from tests.conftest import TEST_QUEUE, _start_worker
from tests.fakes.provider_server import fake_provider_fixture  # noqa: F401
from tests.helpers import wait_for


def most_in_one_second(arrivals: list[float]) -> int:
    """The largest number of requests in any window [t, t + 1 s) starting at a request."""
    arrivals = sorted(arrivals)
    return max(sum(1 for t in arrivals if start <= t < start + 1.0) for start in arrivals)


@pytest.mark.django_db
def test_a_slot_is_taken_then_the_next_one_is_an_interval_later(fake_provider):
    account = voicegateway_setup(fake_provider, cps=2).account
    interval = ratelimit.interval(2)
    assert interval == pytest.approx(0.5 * (1 + ratelimit.SAFETY_MARGIN))

    assert ratelimit.slot_take(account=account, now=100.0) == 0.0
    assert ratelimit.slot_take(account=account, now=100.0) == pytest.approx(interval)
    assert ratelimit.slot_take(account=account, now=100.2) == pytest.approx(interval - 0.2)
    assert ratelimit.slot_take(account=account, now=100.0 + interval) == 0.0


@pytest.mark.django_db
def test_each_account_has_its_own_slot(fake_provider):
    first = voicegateway_setup(fake_provider, cps=1).account
    second = voicegateway_setup(fake_provider, cps=1).account
    assert ratelimit.slot_take(account=first, now=50.0) == 0.0
    assert ratelimit.slot_take(account=second, now=50.0) == 0.0
    assert ratelimit.slot_take(account=first, now=50.0) > 0


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
            services.call_place(actor=SYSTEM, via=services.VIA_API,
                                application=setup.application, from_number=FROM,
                                to=phone(f"+3161234560{n}"), flow={"type": "application"})
        wait_for(lambda: Call.objects.filter(status=CallStatus.SUBMITTED).count() == 8,
                 timeout=60)
    finally:
        second_worker.stop()

    assert len(setup.arrivals) == 8  # every call sent once
    assert most_in_one_second(setup.arrivals) <= 2
    for worker in (celery_worker, second_worker):  # both workers sent calls
        assert "calls.tasks.submit_call" in worker.log()
