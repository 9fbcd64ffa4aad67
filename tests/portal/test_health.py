"""/healthz says whether the database and the broker answer."""

import pytest
from django.db import OperationalError
from django.urls import reverse


@pytest.mark.django_db
def test_healthy(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["broker"]) == ("ok", "ok", "ok")


@pytest.mark.django_db
def test_broker_down_is_named(client, settings):
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
