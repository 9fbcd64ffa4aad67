"""An internal tool subscribed to Callboard gets every event of sandbox calls placed through
the API, verifiable and in order per call; a call placed with its own event_url gets its
events there too, while the call log still sees them."""

from __future__ import annotations

import pytest
from standardwebhooks.webhooks import Webhook

from calls.models import Call, CallStatus
from forwarding.models import Delivery, DeliveryStatus, Subscription
from forwarding.services import subscription_create
from portal.services import SYSTEM
from tests.fakes.receiver import Receiver
from tests.helpers import wait_for
from voiceapps.sandbox.services import sandbox_first_run

pytestmark = pytest.mark.django_db(transaction=True)
ANSWERS = "447700900006"  # the sandbox callee who answers, presses 1 and completes


def test_a_tool_gets_every_event_of_a_burst_of_sandbox_calls(
    live_callboard, api_for, operator_user
):
    demo = sandbox_first_run()
    tool, own = Receiver().start(), Receiver().start()
    subscription, secret = subscription_create(
        actor=SYSTEM,
        values={
            "name": "CRM",
            "url": tool.url,
            "event_types": ["call.created", "call.status_changed", "call.ended"],
        },
    )
    api = api_for(operator_user)
    ids = []
    for n in range(3):
        extra = {"options": {"event_url": own.url}} if n == 0 else {}
        response = api.post(
            "/api/v1/calls",
            {
                "application": demo.application.pk,
                "from_number": "+447700900100",
                "to": {"type": "phone", "number": f"+{ANSWERS}"},
                **extra,
            },
            format="json",
        )
        assert response.status_code == 202, response.json()
        ids.append(response.json()["id"])
    try:
        wait_for(
            lambda: Call.objects.filter(pk__in=ids, status=CallStatus.COMPLETED).count() == 3,
            timeout=60,
            what="three completed calls",
        )
        wait_for(
            lambda: not Delivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists(),
            timeout=60,
            what="every event delivered",
        )
    finally:
        tool.stop()
        own.stop()

    per_call: dict[int, list[dict]] = {}
    for request in tool.taken():
        event = Webhook(secret).verify(request.body, request.headers)
        per_call.setdefault(event["data"]["call"]["id"], []).append(event)
    assert sorted(per_call) == sorted(ids)
    for events in per_call.values():
        assert [e["data"]["sequence"] for e in events] == sorted(
            e["data"]["sequence"] for e in events
        )
        kinds = [e["type"] for e in events]
        assert kinds[0] == "call.created" and kinds[-1] == "call.ended"
        assert [e["data"]["call"]["status"] for e in events if e["type"] == "call.status_changed"][
            -1
        ] == "completed"
    # The first call's own event URL got its events, signed by the built-in subscription.
    own_secret = Subscription.objects.get(for_call_event_urls=True).secret()
    got = [Webhook(own_secret).verify(r.body, r.headers) for r in own.taken()]
    assert {e["data"]["call"]["id"] for e in got} == {ids[0]}
    assert got[-1]["type"] == "call.ended"
    sent = Call.objects.get(pk=ids[0]).provider_request["body"]["event_url"][0]
    assert own.url not in sent  # the provider reported to Callboard
