"""The forwarding API: admins only, the secret in the create answer only, bad input a 400
naming the field, and the event shape documented in the OpenAPI document."""

from __future__ import annotations

import pytest
import yaml
from django.urls import reverse
from openapi_schema_validator import OAS30Validator

from calls.models import CallStatus
from calls.services.events import call_event_record
from forwarding.models import Delivery, EventType, Subscription
from tests.calls.webhook_helpers import CONVERSATION, UUID, at, vonage_status
from tests.factories import (
    CallFactory,
    ForwardingDeliveryFactory,
    ProviderAccountFactory,
    SubscriptionFactory,
)
from voiceapps.adapters import account_adapter

pytestmark = pytest.mark.django_db
BASE = "/api/v1/forwarding"


@pytest.fixture
def api(api_for, admin_user):
    return api_for(admin_user)


def test_create_answers_with_the_secret_once(api, receiver):
    response = api.post(
        f"{BASE}/subscriptions",
        {"name": "CRM", "url": receiver.url, "event_types": ["call.ended"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert "no-store" in response["Cache-Control"]
    assert body["secret"] == Subscription.objects.get().secret()
    again = api.get(response["Location"]).json()
    assert "secret" not in again and again["event_types"] == ["call.ended"]
    assert body["secret"] not in str(api.get(f"{BASE}/subscriptions").json())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://169.254.169.254/"}, "url"),
        ({"url": "http://10.1.2.3/x"}, "url"),
        ({"url": "ftp://example.com/x"}, "url"),
        ({"event_types": ["call.exploded"]}, "event_types"),
        ({"event_types": []}, "event_types"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, receiver, body, field):
    response = api.post(
        f"{BASE}/subscriptions",
        {"name": "CRM", "url": receiver.url, "event_types": ["call.ended"], **body},
        format="json",
    )
    assert response.status_code == 400
    assert any(path.startswith(field) for path in response.json()["fields"]), response.json()


def test_patch_changes_and_enables(api, sends):
    subscription = SubscriptionFactory(enabled=False, disabled_reason="down")
    response = api.patch(
        f"{BASE}/subscriptions/{subscription.pk}", {"enabled": True, "tag": "team"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["enabled"] and response.json()["disabled_reason"] == ""
    assert response.json()["tag"] == "team"


def test_the_log_lists_attempts_and_replay_queues_copies(api, sends):
    delivery = ForwardingDeliveryFactory()
    subscription = delivery.subscription
    log = api.get(f"{BASE}/subscriptions/{subscription.pk}/deliveries").json()
    assert [row["message_id"] for row in log["results"]] == [delivery.message_id]
    assert api.post(f"{BASE}/deliveries/{delivery.pk}/replay").status_code == 202
    response = api.post(
        f"{BASE}/subscriptions/{subscription.pk}/replay",
        {"since": "2000-01-01T00:00:00Z", "until": "2100-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 202 and response.json() == {"queued": 1}
    assert Delivery.objects.filter(replay_of=delivery).count() == 2


def test_a_new_secret_is_answered_once(api):
    subscription = SubscriptionFactory()
    response = api.post(f"{BASE}/subscriptions/{subscription.pk}/secret")
    assert response.json()["secret"] == Subscription.objects.get().secret()
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("persona", ["operator_user", "viewer_user"])
def test_only_admins(api_for, request, persona):
    other = api_for(request.getfixturevalue(persona))
    assert other.get(f"{BASE}/subscriptions").status_code == 403
    assert other.post(f"{BASE}/subscriptions", {}, format="json").status_code == 403


def test_every_forwarded_event_matches_the_shape_in_the_openapi_document(api, sends):
    document = yaml.safe_load(api.get(reverse("api_schema")).content)
    assert f"{BASE}/subscriptions" in document["paths"].keys() | {
        "/api/v1" + p for p in document["paths"]
    }
    components = document["components"]["schemas"]
    schema = {**components["ForwardedEvent"], "components": {"schemas": components}}
    account = ProviderAccountFactory()
    CallFactory(
        account=account,
        status=CallStatus.SUBMITTED,
        provider_call_id=UUID,
        conversation_id=CONVERSATION,
        tag={"team": "sales"},
    )
    SubscriptionFactory()
    parser = account_adapter(account, webhooks_only=True)
    for payload in (
        vonage_status("ringing", at=at(1)),
        vonage_status("busy", at=at(3)),
        {
            "call_uuid": UUID,
            "conversation_uuid": CONVERSATION,
            "status": "machine",
            "timestamp": at(2),
        },
        {
            "conversation_uuid": CONVERSATION,
            "recording_url": "https://r.example/1",
            "timestamp": at(4),
        },
    ):
        call_event_record(account=account, event=parser.parse_event(payload), payload=payload)
    kinds = set()
    for delivery in Delivery.objects.all():
        OAS30Validator(schema).validate(delivery.payload)  # OpenAPI 3.0's JSON Schema
        kinds.add(delivery.event_type)
    assert kinds == {EventType.STATUS_CHANGED, EventType.ENDED, EventType.AMD, EventType.RECORDING}
    recording = Delivery.objects.get(event_type=EventType.RECORDING).payload
    assert recording["data"]["recording_url"] == "https://r.example/1"
