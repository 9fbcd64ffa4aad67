"""POST /api/v1/webhook-deliveries/{id}/replay: the deliveries page's Replay, for admins."""

import pytest

from calls.models import Call, CallEvent, WebhookDelivery
from portal.models import AuditEntry
from tests.calls.webhook_helpers import UUID, the_call
from tests.fakes.provider_accounts import vonage_signed_headers

pytestmark = pytest.mark.django_db


def replay(api, delivery, body=None):
    return api.post(f"/api/v1/webhook-deliveries/{delivery.pk}/replay", body, format="json")


def test_an_admin_replays_a_rejected_delivery_and_its_call_moves(
    rejected, account, api_for, admin_user
):
    response = replay(api_for(admin_user), rejected)

    assert response.status_code == 200
    body = response.json()
    event = CallEvent.objects.get()
    assert body["detail"] == f"Replayed: the status event was applied to call {event.call_id}."
    assert body["event"]["id"] == event.pk and body["event"]["source"] == "replay"
    assert body["event"]["is_duplicate"] is False
    assert body["delivery"]["is_replay"] is True and body["delivery"]["calls"] == [event.call_id]
    assert body["delivery"]["verified"] is False  # never verified, and still says so
    assert the_call(account, UUID).status == "answered"
    audit = AuditEntry.objects.get(action="webhook_delivery.replay")
    assert audit.actor == admin_user and audit.via == "API token"


def test_replaying_again_is_marked_a_duplicate_and_changes_nothing(rejected, api_for, admin_user):
    api = api_for(admin_user)
    replay(api, rejected)
    changed_at = Call.objects.get().updated_at

    body = replay(api, rejected, {}).json()

    assert body["event"]["is_duplicate"] is True
    assert "had this event already, so nothing changed" in body["detail"]
    assert Call.objects.get().updated_at == changed_at


def test_a_delivery_that_cannot_be_applied_is_a_400_saying_why(
    account, client, api_for, admin_user
):
    body = b'{"uuid": "x", '
    client.post(
        f"/hooks/{account.webhook_token}/events",
        data=body,
        content_type="application/json",
        headers=vonage_signed_headers(body),
    )
    delivery = WebhookDelivery.objects.get()

    response = replay(api_for(admin_user), delivery)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("This delivery cannot be applied: malformed JSON")
    delivery.refresh_from_db()
    assert delivery.applied_at is None and not delivery.is_replay


def test_an_unknown_field_is_refused_and_nothing_is_replayed(rejected, api_for, admin_user):
    response = replay(api_for(admin_user), rejected, {"force": True})

    assert response.status_code == 400
    assert response.json()["fields"] == {"force": ["Unknown field."]}
    assert not CallEvent.objects.exists()


def test_only_admins_replay(rejected, api_for, personas):
    assert replay(api_for(None), rejected).status_code == 401
    for role in ("outsider", "viewer", "operator"):
        assert replay(api_for(personas[role]), rejected).status_code == 403
    assert (
        api_for(personas["admin"])
        .get(f"/api/v1/webhook-deliveries/{rejected.pk}/replay")
        .status_code
        == 405
    )
    assert (
        replay(api_for(personas["admin"]), WebhookDelivery(pk=rejected.pk + 1)).status_code == 404
    )
    assert not CallEvent.objects.exists()
