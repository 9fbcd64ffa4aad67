"""How fast calls really go out under the calls-per-second limit, with two workers.

Not part of the suite (pytest collects tests/ only); run it on purpose:

    CALLBOARD_VAR_DIR=/tmp/cbvar-bench .venv/bin/python -m pytest bench/test_call_rate.py -s

It places CALLS calls on one Voice Gateway account limited to CPS, lets two real worker
processes send them to a loopback fake provider, and prints the achieved rate and the most
requests the fake saw in any one second. Results are kept in bench/call_rate.md.
"""

import time

import pytest
from django.conf import settings

from calls import services
from calls.models import Call, CallStatus
from portal.services import SYSTEM
from tests.calls.placing import FROM, phone, voicegateway_setup
from tests.calls.test_ratelimit import most_in_one_second
from tests.conftest import TEST_QUEUE, _start_worker, celery_worker  # noqa: F401  (fixture)
from tests.fakes.provider_server import fake_provider_fixture  # noqa: F401
from tests.helpers import wait_for

CALLS = 30
CPS = 3


@pytest.mark.django_db(transaction=True)
def test_achieved_call_rate_with_two_workers(fake_provider, celery_worker,  # noqa: F811
                                             django_db_blocker):
    setup = voicegateway_setup(fake_provider, cps=CPS)
    setup.accept_all()
    second_worker = _start_worker(django_db_blocker, TEST_QUEUE)  # as the fixture's
    try:
        started = time.time()
        for n in range(CALLS):
            services.call_place(actor=SYSTEM, via=services.VIA_API,
                                application=setup.application, from_number=FROM,
                                to=phone(f"+316123{n:05d}"), flow={"type": "application"})
        placed = time.time()
        wait_for(lambda: Call.objects.filter(status=CallStatus.SUBMITTED).count() == CALLS,
                 timeout=CALLS / CPS * 3 + 30)
        done = time.time()
    finally:
        second_worker.stop()

    arrivals = sorted(setup.arrivals)
    achieved = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    print(f"\n{CALLS} calls, limit {CPS}/s, 2 workers x 2 processes, "
          f"{settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
          f"broker {settings.CELERY_BROKER_URL.split(':', 1)[0]}")
    print(f"placing took {placed - started:.2f} s; all submitted after {done - started:.2f} s")
    print(f"achieved {achieved:.2f} calls/s between first and last request (limit {CPS})")
    print(f"most requests in any 1 s window: {most_in_one_second(arrivals)}")
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    print("gaps between requests (s): " + " ".join(f"{gap:.3f}" for gap in gaps))
    assert len(arrivals) == CALLS
