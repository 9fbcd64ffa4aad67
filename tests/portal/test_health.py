"""/healthz says whether the database and the broker answer and a worker is consuming."""

import pytest
from django.db import OperationalError
from django.urls import reverse

from portal.health import worker_heartbeat_record
from tests.helpers import wait_for


@pytest.fixture
def worker_alive() -> None:
    worker_heartbeat_record()


@pytest.mark.django_db
def test_healthy(client, worker_alive):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["broker"], body["worker"]) == (
        "ok", "ok", "ok", "ok")


@pytest.mark.django_db
def test_no_worker_heartbeat_means_the_worker_is_missing(client, no_worker_consuming):
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"], body["worker"]) == ("down", "ok", "missing")


@pytest.mark.django_db
def test_a_real_worker_is_reported(client, celery_worker):
    # Each test starts with an empty cache: the running worker writes its heartbeat again.
    wait_for(lambda: client.get(reverse("healthz")).json()["worker"] == "ok", timeout=10)


@pytest.mark.django_db
def test_broker_down_is_named(client, settings, worker_alive):
    settings.CELERY_BROKER_URL = "redis://:hunter2@127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT = None
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down" and body["database"] == "ok"
    assert body["broker"].startswith("down: ")
    assert "hunter2" not in response.content.decode()


@pytest.mark.django_db
def test_database_down_is_named(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("portal.health.connection.cursor", refuse)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["database"] == "down: OperationalError"
