"""A real Celery worker process runs tasks from the configured broker: no eager mode."""

import pytest

from portal.celery import app as celery_app
from portal.models import WorkerHeartbeat
from portal.tasks import record_worker_heartbeat
from tests.helpers import wait_for


def test_celery_is_not_in_eager_mode():
    assert not celery_app.conf.task_always_eager


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task(celery_worker):
    record_worker_heartbeat.delay()
    beat = wait_for(lambda: WorkerHeartbeat.objects.first(), timeout=30)
    assert beat.hostname
    assert "portal.tasks.record_worker_heartbeat" in celery_worker.log()
