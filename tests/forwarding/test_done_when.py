"""Issue 20's "Done when", end to end: an internal tool subscribed to Callboard receives every
call event of a sandbox burst through the real worker, verifiable and in order per call; it
survives its own outage through retries; and an admin receives, then sees resolved, the
"forwarding failing" alert when the tool's receiver is down for ten minutes.

Real: the live server (API, sandbox, webhooks), the Celery worker (placing, applying,
forwarding, notifying) and two loopback receivers (the tool's, and the admin's
Slack-compatible channel). Only time is driven: the worker retries on its real clock (the
beat's sweep, which tests do not run, is called here once the receiver is back), and the
alert evaluation, beat's 30-second task, runs here at the moment ten minutes after the outage
began (`alerts_evaluate(now=…)`) rather than after a real ten-minute wait.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from alerts.models import Alert
from alerts.services import alerts_evaluate
from calls.models import Call, CallStatus
from forwarding.models import Delivery, DeliveryStatus, EventType, Subscription
from forwarding.services import forwarding_send_due, subscription_create
from portal.services import SYSTEM
from tests.factories import AlertChannelFactory, AlertRuleFactory
from tests.fakes.receiver import Receiver
from tests.helpers import wait_for
from voiceapps.sandbox.services import sandbox_first_run

pytestmark = pytest.mark.django_db(transaction=True)
ANSWERS = "+447700900006"  # the sandbox callee who answers, presses 1 and completes
BURST = 4
OUTAGE = timedelta(minutes=10)


def test_a_tool_gets_every_event_survives_its_outage_and_an_admin_is_alerted(
    live_callboard, api_for, operator_user, admin_user, client_for
):
    demo = sandbox_first_run()
    receiver_up = {"now": False}  # the tool is down from the start of the burst
    tool = Receiver(behave=lambda n: (200, 0.0) if receiver_up["now"] else (503, 0.0)).start()
    slack = Receiver().start()
    subscription, secret = subscription_create(
        actor=SYSTEM, values={"name": "CRM", "url": tool.url, "event_types": EventType.values}
    )
    channel = AlertChannelFactory(kind="slack", target=slack.url)
    AlertRuleFactory(
        name="CRM feed",
        kind="forwarding_failing",
        threshold=1,
        window_seconds=int(OUTAGE.total_seconds()),
        channels=[channel],
    )
    api = api_for(operator_user)
    try:
        placed = []
        for _ in range(BURST):
            response = api.post(
                "/api/v1/calls",
                {
                    "application": demo.application.pk,
                    "from_number": "+447700900100",
                    "to": {"type": "phone", "number": ANSWERS},
                },
                format="json",
            )
            assert response.status_code == 202, response.json()
            placed.append(response.json()["id"])
        wait_for(
            lambda: (
                Call.objects.filter(pk__in=placed, status=CallStatus.COMPLETED).count() == BURST
            ),
            timeout=90,
            what="the burst's calls completed",
        )
        wait_for(
            lambda: Subscription.objects.get(pk=subscription.pk).failing_since,
            timeout=30,
            what="the worker's first attempts refused",
        )
        down_since = Subscription.objects.get(pk=subscription.pk).failing_since

        # Beat's evaluation nine, then ten minutes into the outage: the admin's channel is
        # told once the receiver has been down for the rule's whole window.
        assert alerts_evaluate(now=down_since + OUTAGE - timedelta(minutes=1)) == []
        fired = alerts_evaluate(now=down_since + OUTAGE)
        assert [n.event for n in fired] == ["fired"]
        wait_for(lambda: slack.received, timeout=30, what="the admin's alert")
        text = json.loads(slack.received[0].body)["text"]
        assert text.startswith("*[FIRING] CRM feed: Forwarding to CRM failing")
        assert f"/settings/forwarding/{subscription.pk}/" in text

        # The receiver is back: the retries (due now, as the beat's sweep finds them) deliver
        # everything, and the next evaluation resolves the alert and says so.
        receiver_up["now"] = True
        Delivery.objects.update(next_attempt_at=timezone.now())
        forwarding_send_due()
        wait_for(
            lambda: not Delivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists(),
            timeout=60,
            what="every event delivered after the outage",
        )
        resolved = alerts_evaluate(now=down_since + OUTAGE + timedelta(minutes=1))
        assert [n.event for n in resolved] == ["resolved"]
        wait_for(lambda: len(slack.received) == 2, timeout=30, what="the resolution's notice")
    finally:
        tool.stop()
        slack.stop()
    assert json.loads(slack.received[1].body)["text"].startswith("*[RESOLVED] CRM feed")

    # The tool refused events while down, and got each of them later (none lost), signed and
    # in order per call: every call's created, status changes and end, in sequence.
    assert any(r.answered == 503 for r in tool.received)
    assert Delivery.objects.filter(attempts__gt=1).exists()
    first_receipts: dict[str, dict] = {}
    for request in tool.taken():
        event = Webhook(secret).verify(request.body, request.headers)
        first_receipts.setdefault(request.headers["webhook-id"], event)
    assert set(first_receipts) == set(Delivery.objects.values_list("message_id", flat=True))
    per_call: dict[int, list[dict]] = defaultdict(list)
    for event in first_receipts.values():
        per_call[event["data"]["call"]["id"]].append(event)
    assert sorted(per_call) == sorted(placed)
    for events in per_call.values():
        assert [e["data"]["sequence"] for e in events] == list(range(1, len(events) + 1))
        assert events[0]["type"] == "call.created" and events[-1]["type"] == "call.ended"

    # The admin sees it resolved on the alerts page.
    page = client_for(admin_user).get("/alerts/").content.decode()
    assert "Forwarding to CRM failing" in page
    assert Alert.objects.get(rule__name="CRM feed").resolved_at is not None
    assert 'pill ok">Resolved' in page
