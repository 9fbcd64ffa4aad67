"""In-process: CPU (this thread's) and queries per `call_submit` against the loopback fake.

Not collected by the suite (not test_*.py); run it by path, e.g.
  DATABASE_URL=... SENDLOOP_N=200 .venv/bin/pytest -p no:cacheprovider -s -q \
      tests/calls/services/bench_send_loop.py -k sendloop
PROFILE=1 writes a cProfile (by thread CPU) of the loop to PROFILE_TO (/tmp/send.prof);
`-k showqueries` prints the SQL of one send. The fake provider answers from a thread of its
own, not counted.
"""

import cProfile
import os
import statistics
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from calls import tasks
from calls.models import Call, CallStatus
from tests.calls.placing import phone, place, vonage_setup

N = int(os.environ.get("SENDLOOP_N", "200"))


def queued(fake_provider, count: int) -> list[int]:
    """`count` calls queued on an account that accepts every call, not yet sent."""
    setup = vonage_setup(fake_provider, kind="sandbox" if os.environ.get("SANDBOX") else "vonage")
    setup.accept()
    return [place(setup, to=phone(f"+3161234{i:04d}")).pk for i in range(count)]


@pytest.mark.django_db(transaction=True)
def test_sendloop(fake_provider):
    ids = queued(fake_provider, N + 20)  # the first 20 warm up, not counted
    cpu, queries = [], []
    prof = cProfile.Profile(time.thread_time) if os.environ.get("PROFILE") else None
    for n, call_id in enumerate(ids):
        if prof and n == 20:
            prof.enable()
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.thread_time()
            tasks.call_submit.run(call_id)
            t1 = time.thread_time()
        if n >= 20:
            cpu.append((t1 - t0) * 1000)
            queries.append(len(ctx.captured_queries))
    if prof:
        prof.disable()
        prof.dump_stats(os.environ.get("PROFILE_TO", "/tmp/send.prof"))
    assert Call.objects.filter(status=CallStatus.SUBMITTED).count() == N + 20
    cpu.sort()
    print(
        f"\nSENDLOOP n={N} cpu median {statistics.median(cpu):.2f} ms"
        f" mean {statistics.mean(cpu):.2f} p10 {cpu[len(cpu) // 10]:.2f}"
        f" queries/send {statistics.mean(queries):.1f}"
    )


@pytest.mark.django_db(transaction=True)
def test_showqueries(fake_provider):
    for call_id in queued(fake_provider, 3):
        with CaptureQueriesContext(connection) as ctx:
            tasks.call_submit.run(call_id)
    for q in ctx.captured_queries:  # the third send's
        print("Q", q["time"], q["sql"][:300])
