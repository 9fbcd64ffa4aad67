"""Crash safety: kill -9 a Celery worker while it places calls, and a web worker while it
takes webhooks. Nobody is rung twice, no call is left queued or lost, and every webhook
delivery answered 2xx is stored and applied.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.utils import timezone

from calls.models import Call, CallEvent, CallStatus, WebhookDelivery
from calls.services.sweeping import call_sweep_stuck
from calls.tasks import deliveries_apply_pending as deliveries_apply_pending_task
from tests.calls.placing import phone, place, vonage_setup
from tests.calls.webhook_helpers import store_unapplied
from tests.conftest import REPO, XDIST_WORKER, _start_worker, _test_database_url
from tests.factories import CallFactory, ProviderAccountFactory
from tests.fakes.provider_accounts import vonage_signed_headers
from tests.fakes.provider_server import Reply, SeenRequest
from tests.helpers import tasks_sent_to, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CALLS = 200
CRASH_QUEUE = f"callboard-test-crash{XDIST_WORKER}"


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (a worker's pool, gunicorn's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # "pid (comm) state ppid ...": comm may hold spaces, so split after its ")".
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def serving(pid: int, port: int) -> bool:
    """Whether process `pid` holds an established connection to its server's `port`: a
    gunicorn sync worker does from accepting a request until it has answered it."""
    inodes = set()
    with contextlib.suppress(OSError):  # it may have died meanwhile
        for fd in (Path("/proc") / str(pid) / "fd").iterdir():
            with contextlib.suppress(OSError):
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes.add(link[len("socket:["):-1])
    established = "01"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if (int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == established
                and fields[9] in inodes):
            return True
    return False


def kill_9(pid: int) -> None:
    for victim in [pid, *children(pid)]:
        with contextlib.suppress(ProcessLookupError):  # it may have died meanwhile
            os.kill(victim, signal.SIGKILL)


@pytest.fixture
def crash_queue():
    with tasks_sent_to(CRASH_QUEUE):
        yield CRASH_QUEUE


def test_killing_a_worker_mid_batch_rings_nobody_twice_and_loses_no_call(
    fake_provider, django_db_blocker, crash_queue
):
    setup = vonage_setup(fake_provider, cps=40)  # 200 calls take five seconds to send

    def accept(request: SeenRequest) -> Reply:
        time.sleep(0.02)  # the request is in flight for a while: a kill can land there
        return Reply(201, {"uuid": str(uuid.uuid4()), "status": "started",
                           "direction": "outbound", "conversation_uuid": f"CON-{uuid.uuid4()}"})

    setup.fake.handle("POST", "/v1/calls", accept)
    first = _start_worker(django_db_blocker, crash_queue)
    # The callee's number marks each call, so the fake can count the requests per call.
    calls = [place(setup, to=phone(f"+3161{n:07d}")) for n in range(CALLS)]

    wait_for(lambda: len(setup.create_requests()) >= CALLS // 4, timeout=60)
    kill_9(first.process.pid)
    first.process.wait(timeout=10)
    sent_before_the_kill = len(setup.create_requests())
    second = _start_worker(django_db_blocker, crash_queue, purge=False)
    try:
        # What the sweep does every minute, as if six minutes had passed: calls nobody
        # works on are enqueued again, a send the dead worker began is marked unknown.
        call_sweep_stuck(now=timezone.now() + timedelta(minutes=6))
        wait_for(lambda: not Call.objects.filter(status=CallStatus.QUEUED).exists(),
                 timeout=90)
    finally:
        second.stop()

    per_callee = Counter(r.json()["to"][0]["number"] for r in setup.create_requests())
    assert sent_before_the_kill < CALLS  # the kill landed mid-batch
    assert max(per_callee.values()) == 1, [n for n, count in per_callee.items() if count > 1]
    assert Call.objects.count() == CALLS
    for call in Call.objects.all():
        reached = per_callee[call.to_display.lstrip("+")]
        assert call.status != CallStatus.QUEUED, call.pk
        if call.outcome_unknown:  # the dead worker was sending it: never sent again
            assert call.status == CallStatus.SUBMITTED and reached <= 1, call.pk
        else:  # sent exactly once, and Callboard knows the provider's id for it
            assert call.status == CallStatus.SUBMITTED and call.provider_call_id, call.pk
            assert reached == 1, call.pk
    assert {c.pk for c in calls} == set(Call.objects.values_list("pk", flat=True))


APPLIED_CALLS = 500  # four events each: eight batches of stored deliveries


def test_killing_a_worker_mid_apply_loses_no_event_and_applies_none_twice(
    django_db_blocker, crash_queue
):
    """Workers apply stored deliveries a batch per transaction (WEBHOOK_APPLY_IN_WORKER):
    the batch a killed worker was applying is undone whole and applied by the next."""
    account = ProviderAccountFactory()
    calls = [CallFactory(account=account, provider="vonage", status=CallStatus.SUBMITTED,
                         provider_call_id=str(uuid.uuid4())) for _ in range(APPLIED_CALLS)]
    total = store_unapplied(account, calls, ("started", "ringing", "answered", "completed"))
    applied = WebhookDelivery.objects.filter(applied_at__isnull=False)

    first = _start_worker(django_db_blocker, crash_queue, WEBHOOK_APPLY_IN_WORKER="true")
    deliveries_apply_pending_task.delay()
    wait_for(applied.exists, timeout=60, interval=0.02)
    kill_9(first.process.pid)
    first.process.wait(timeout=10)
    applied_before_the_kill = applied.count()
    second = _start_worker(django_db_blocker, crash_queue, purge=False,
                           WEBHOOK_APPLY_IN_WORKER="true")
    try:
        deliveries_apply_pending_task.delay()  # what beat does every minute
        wait_for(lambda: applied.count() == total, timeout=120)
    finally:
        second.stop()

    assert applied_before_the_kill < total  # the kill landed before the last batch
    assert not WebhookDelivery.objects.exclude(apply_error="").exists()
    per_delivery = Counter(CallEvent.objects.values_list("delivery_id", flat=True))
    assert len(per_delivery) == total and set(per_delivery.values()) == {1}
    assert set(Call.objects.values_list("status", flat=True)) == {CallStatus.COMPLETED}


# Webhooks --------------------------------------------------------------------------------

EVENTS = 240


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(django_db_blocker):
    """Callboard under gunicorn (two sync workers) on the test database."""
    with django_db_blocker.unblock():
        database_url = _test_database_url()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind",
         f"127.0.0.1:{port}", "--workers", "2", "--timeout", "30"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "DATABASE_URL": database_url, "CELERY_QUEUE": CRASH_QUEUE},
    )

    def listening() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0 and len(children(server.pid)) == 2

    try:
        wait_for(listening, timeout=30)
        yield server, f"http://127.0.0.1:{port}"
    finally:
        workers = children(server.pid)
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        for pid in workers:
            kill_9(pid)


def test_killing_a_web_worker_loses_no_delivery_it_answered(gunicorn):
    server, base = gunicorn
    port = int(base.rsplit(":", 1)[1])
    account = ProviderAccountFactory()
    calls = [CallFactory(account=account, provider="vonage", to_display="+31612345678",
                         status=CallStatus.SUBMITTED, provider_call_id=str(uuid.uuid4()))
             for _ in range(EVENTS // 4)]
    bodies = [
        json.dumps({"uuid": call.provider_call_id, "conversation_uuid": f"CON-{call.pk}",
                    "status": status, "from": "31201234567", "to": "31612345678",
                    "direction": "outbound", "timestamp": f"2026-01-05T10:00:0{n}.000Z"}).encode()
        for call in calls for n, status in enumerate(("started", "ringing", "answered",
                                                       "completed"))
    ]
    answered: list[bytes] = []
    done = Counter()
    kills = threading.Event()

    def post(body: bytes) -> None:
        try:
            response = requests.post(f"{base}/hooks/{account.webhook_token}/events", data=body,
                                     headers={"Content-Type": "application/json",
                                              **vonage_signed_headers(body)}, timeout=30)
        except requests.RequestException:
            done["dropped"] += 1  # the worker died with it: no answer, like the provider sees
            return
        done[response.status_code] += 1
        if 200 <= response.status_code < 300:
            answered.append(body)

    def mid_request() -> bool:
        """Kill a worker that is serving a request, if one is now (on a loaded machine the
        clients may leave both idle for a while)."""
        for worker in children(server.pid):
            if serving(worker, port):
                kill_9(worker)
                return True
        return False

    def killer() -> None:
        # At least three kills while requests are in flight, and more until one has cut a
        # request short: a worker killed after sending its answer, while Django finishes the
        # request (request_finished) before the socket is closed, drops nothing, and on a
        # loaded machine three kills in a row have landed there.
        for kill, threshold in enumerate(range(EVENTS // 5, EVENTS * 5 // 6, EVENTS // 12)):
            if kill >= 3 and done["dropped"]:
                break
            wait_for(lambda: sum(done.values()) >= threshold, timeout=60)  # noqa: B023
            wait_for(mid_request, timeout=60, interval=0.001)
        kills.set()

    threading.Thread(target=killer, daemon=True).start()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(post, bodies))
    assert kills.wait(10)

    assert len(answered) >= EVENTS // 2, done
    assert done["dropped"] >= 1, done  # a kill cut a request short, as it would a provider's
    assert sum(done.values()) == EVENTS
    stored = {d.body_sha256: d for d in WebhookDelivery.objects.all()}
    for body in answered:
        delivery = stored.get(hashlib.sha256(body).hexdigest())
        assert delivery is not None, f"answered 2xx but not stored: {body!r}"
        assert delivery.verified and delivery.applied_at is not None, body
        assert CallEvent.objects.filter(delivery=delivery).exists(), body
    assert not [code for code in done if isinstance(code, int) and code >= 500], done
