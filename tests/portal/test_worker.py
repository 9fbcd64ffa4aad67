"""A real Celery worker process runs tasks from the configured broker: no eager mode."""

import pytest

from portal.celery import app as celery_app
from portal.models import WorkerHeartbeat
from portal.tasks import record_worker_heartbeat
from tests.conftest import TEST_QUEUE, _start_worker
from tests.helpers import wait_for


def test_celery_is_not_in_eager_mode():
    assert not celery_app.conf.task_always_eager


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task(celery_worker):
    record_worker_heartbeat.delay()
    beat = wait_for(lambda: WorkerHeartbeat.objects.first(), timeout=30)
    assert beat.hostname
    assert "portal.tasks.record_worker_heartbeat" in celery_worker.log()


def _sandbox_step():
    from voiceapps.sandbox.tasks import sandbox_step

    return sandbox_step.s(0, 0)  # a call that does not exist: the step finds nothing to run


def _forwarding_send_due():
    from forwarding.tasks import forwarding_send_due

    return forwarding_send_due.s()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("queue", "signature"), [
    ("forwarding", _forwarding_send_due),
    # The sandbox plays the provider's side of a call: its steps must not wait behind the
    # sends of a campaign's calls, and a worker of their own can play them apart.
    ("sandbox", _sandbox_step),
])
def test_separate_queues_have_their_own_queue_that_every_worker_consumes(
        celery_worker, queue, signature):
    """Started with `-Q <its queue>` only, the worker still takes forwarding's and the
    sandbox's tasks, which no longer wait behind that queue's backlog (webhooks to apply)."""
    task = signature()
    route = celery_app.amqp.router.route({}, task.task)
    assert route["queue"].name == f"{TEST_QUEUE}-{queue}"
    task.delay()
    wait_for(lambda: f"Task {task.task}[" in celery_worker.log(), timeout=30,
             what=f"the worker ran {task.task}")
    assert f"{TEST_QUEUE}-{queue}" in celery_worker.log()  # its banner lists the queue


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("queue", ["forwarding", "sandbox"])
def test_a_worker_given_only_a_separate_queue_takes_that_alone(django_db_blocker, queue):
    """The forwarding-only and sandbox-only workers docs/operations.md suggests."""
    worker = _start_worker(django_db_blocker, f"{TEST_QUEUE}-{queue}", CELERY_QUEUE=TEST_QUEUE)
    try:
        banner = worker.log()
    finally:
        worker.stop()
    assert f".> {TEST_QUEUE}-{queue} " in banner
    assert f"{TEST_QUEUE}-{queue}-" not in banner
    assert f".> {TEST_QUEUE} " not in banner


@pytest.mark.django_db(transaction=True)
def test_a_worker_told_to_leave_the_sandbox_out_consumes_the_rest(django_db_blocker):
    """The sending-only worker docs/operations.md suggests beside a sandbox-only one: -X keeps
    the sandbox's queue out, and forwarding's still comes with the queue it was given."""
    queue = f"{TEST_QUEUE}-sending"
    worker = _start_worker(django_db_blocker, queue, options=("-X", f"{queue}-sandbox"),
                           CELERY_QUEUE=queue)
    try:
        banner = worker.log()
    finally:
        worker.stop()
    assert f".> {queue} " in banner
    assert f".> {queue}-forwarding " in banner
    assert f"{queue}-sandbox" not in banner
