"""Beat's task through a real Celery worker: the evaluation opens the alert and the worker
delivers its notification to a loopback receiver after the commit."""

from __future__ import annotations

import json

import pytest

from alerts.models import Alert, AlertNotification
from alerts.tasks import alerts_evaluate
from tests.factories import AlertChannelFactory, AlertRuleFactory, WebhookDeliveryFactory
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_worker_evaluates_and_notifies(celery_worker, receiver):
    channel = AlertChannelFactory(kind="slack", target=receiver.url)
    AlertRuleFactory(name="Webhooks refused", threshold=2, channels=[channel])
    WebhookDeliveryFactory.create_batch(2, verified=False,
                                        rejection_reason="bad signature: not ours")

    alerts_evaluate.delay()

    wait_for(lambda: receiver.received, timeout=30,
             what=f"a notification; worker log:\n{celery_worker.log()[-3000:]}")
    assert json.loads(receiver.received[0].body)["text"].startswith(
        "*[FIRING] Webhooks refused: 2 webhook deliveries rejected (bad signature)")
    assert Alert.objects.get().is_open
    wait_for(lambda: AlertNotification.objects.filter(sent_at__isnull=False).exists(),
             what="the notification marked sent")
