"""Stored deliveries: the rejected-deliveries log, an admin's replay, the APIs, the timeline."""

import pytest

from calls.models import Call, CallEvent, WebhookDelivery
from portal.models import AuditEntry
from tests.calls.views.polling import settled_change
from tests.calls.webhook_helpers import (
    CONVERSATION,
    UUID,
    body_of,
    the_call,
    vonage_post,
    vonage_status,
)
from tests.factories import AnswerRequestFactory, CallFactory
from tests.fakes.provider_accounts import vonage_signed_headers

pytestmark = pytest.mark.django_db


def replay(client, delivery, **data):
    return client.post(f"/calls/deliveries/{delivery.pk}/replay", data)


def test_an_admin_replays_a_rejected_delivery_through_the_same_apply_path(
    rejected, account, client_for, admin_user
):
    assert not Call.objects.exists()
    response = replay(client_for(admin_user), rejected)

    assert response.status_code == 302 and response["Location"] == "/calls/deliveries/"
    rejected.refresh_from_db()
    assert rejected.is_replay and rejected.applied_at is not None
    assert not rejected.verified  # it was never verified, and still says so
    event = CallEvent.objects.get()
    assert (event.source, event.delivery, event.kind) == ("replay", rejected, "status")
    assert the_call(account, UUID).status == "answered"
    audit = AuditEntry.objects.get(action="webhook_delivery.replay")
    assert audit.actor == admin_user and audit.changes["call"] == event.call_id


def test_replaying_twice_changes_nothing_more(rejected, client_for, admin_user):
    client = client_for(admin_user)
    replay(client, rejected)
    call = Call.objects.get()
    changed_at = call.updated_at
    response = replay(client, rejected, next=f"/calls/{call.pk}/")

    assert response["Location"] == f"/calls/{call.pk}/"
    assert list(CallEvent.objects.values_list("is_duplicate", flat=True)) == [False, True]
    call.refresh_from_db()
    assert call.updated_at == changed_at
    messages = [m.message for m in response.wsgi_request._messages]
    assert "had this event already" in messages[-1]


def test_a_way_back_that_is_not_a_path_here_returns_to_the_list(rejected, client_for,
                                                                 admin_user):
    response = replay(client_for(admin_user), rejected, next="abc")

    assert response.status_code == 302 and response["Location"] == "/calls/deliveries/"


def test_a_delivery_that_cannot_be_parsed_is_not_replayed(account, client, client_for,
                                                          admin_user):
    body = b'{"uuid": "x", '
    client.post(f"/hooks/{account.webhook_token}/events", data=body,
                content_type="application/json", headers=vonage_signed_headers(body))
    delivery = WebhookDelivery.objects.get()
    response = replay(client_for(admin_user), delivery)

    assert response.status_code == 302
    messages = [m.message for m in response.wsgi_request._messages]
    assert messages[0].startswith("This delivery cannot be applied: malformed JSON")
    delivery.refresh_from_db()
    assert delivery.applied_at is None and not delivery.is_replay
    assert not AuditEntry.objects.filter(action="webhook_delivery.replay").exists()


def test_only_admins_replay_and_only_by_post(rejected, client_for, personas):
    for role in ("operator", "viewer", "outsider"):
        assert replay(client_for(personas[role]), rejected).status_code == 403
    assert client_for(personas["admin"]).get(
        f"/calls/deliveries/{rejected.pk}/replay").status_code == 405
    rejected.refresh_from_db()
    assert rejected.applied_at is None


def test_an_offsite_next_is_ignored(rejected, client_for, admin_user):
    response = replay(client_for(admin_user), rejected, next="https://evil.example/")
    assert response["Location"] == "/calls/deliveries/"


# -- the rejected-deliveries log --------------------------------------------------------


def test_the_log_shows_rejected_deliveries_with_their_reason_and_no_secrets(
    rejected, account, client, client_for, operator_user
):
    vonage_post(client, account, vonage_status("ringing"))  # accepted: not listed by default
    html = client_for(operator_user).get("/calls/deliveries/").content.decode()

    assert html.count('<tr id="delivery-') == 1
    assert "bad signature: not signed with this account" in html
    assert account.webhook_token not in html and "Bearer" not in html
    assert "Replay" not in html  # operators see, admins replay
    everything = client_for(operator_user).get("/calls/deliveries/?outcome=").content.decode()
    assert everything.count('<tr id="delivery-') == 2


def test_the_log_shows_the_replay_button_to_admins(rejected, client_for, admin_user):
    html = client_for(admin_user).get("/calls/deliveries/").content.decode()
    assert f'action="/calls/deliveries/{rejected.pk}/replay"' in html and "data-confirm" in html


def test_the_log_is_for_operators(rejected, client_for, personas):
    assert client_for(personas["viewer"]).get("/calls/deliveries/").status_code == 403
    assert client_for(personas["admin"]).get("/calls/deliveries/").status_code == 200


def test_an_empty_log_says_so(client_for, operator_user):
    html = client_for(operator_user).get("/calls/deliveries/").content.decode()
    assert "No webhook was rejected" in html


# -- the APIs -----------------------------------------------------------------------------


def test_the_deliveries_api_filters_and_is_for_operators(rejected, account, client, api_for,
                                                        personas):
    vonage_post(client, account, vonage_status("ringing"))
    api = api_for(personas["operator"])
    everything = api.get("/api/v1/webhook-deliveries").json()["results"]
    refused = api.get("/api/v1/webhook-deliveries", {"outcome": "rejected"}).json()["results"]

    assert len(everything) == 2 and [d["id"] for d in refused] == [rejected.pk]
    assert refused[0]["rejection_reason"].startswith("bad signature")
    assert refused[0]["body"] == body_of(vonage_status("answered",
                                                     at="2026-01-05T10:00:05.000Z")).decode()
    assert "Authorization" not in refused[0]["headers"]
    assert everything[0]["calls"] == [Call.objects.get().pk]
    assert api_for(personas["viewer"]).get("/api/v1/webhook-deliveries").status_code == 403
    assert api_for(None).get("/api/v1/webhook-deliveries").status_code == 401
    bad = api.get("/api/v1/webhook-deliveries", {"outcome": "lost"})
    assert bad.status_code == 400 and "outcome" in bad.json()["fields"]


def test_the_events_api_lists_a_calls_events_oldest_first(account, client, api_for, personas):
    for status, second in (("answered", 5), ("ringing", 2), ("answered", 5)):
        vonage_post(client, account, vonage_status(status, at=f"2026-01-05T10:00:0{second}Z"))
    call = Call.objects.get()
    response = api_for(personas["viewer"]).get(f"/api/v1/calls/{call.pk}/events")

    assert response.status_code == 200
    events = response.json()["results"]
    assert [(e["raw_status"], e["out_of_order"], e["is_duplicate"]) for e in events] == [
        ("answered", False, False), ("ringing", True, False), ("answered", False, True)]
    assert events[0]["payload"]["uuid"] == UUID and events[0]["delivery"] is not None
    assert api_for(personas["viewer"]).get("/api/v1/calls/999999/events").status_code == 404
    assert api_for(personas["outsider"]).get(
        f"/api/v1/calls/{call.pk}/events").status_code == 403


# -- the call's timeline ------------------------------------------------------------------


def test_the_timeline_tells_the_whole_story(account, client, client_for, personas):
    vonage_post(client, account, vonage_status("answered", at="2026-01-05T10:00:05.000Z"))
    vonage_post(client, account, vonage_status("ringing", at="2026-01-05T10:00:02.000Z"))
    vonage_post(client, account, vonage_status("ringing", at="2026-01-05T10:00:02.000Z"))
    vonage_post(client, account, {
        "start_time": "2026-01-05T10:00:06.000Z", "end_time": "2026-01-05T10:00:20.000Z",
        "recording_url": "https://api.nexmo.com/v1/files/aaaa-bbbb", "size": 2048,
        "recording_uuid": "r-1", "conversation_uuid": CONVERSATION,
        "timestamp": "2026-01-05T10:00:20.000Z"})
    call = Call.objects.get()
    AnswerRequestFactory(call=call, method="GET", params={"uuid": UUID},
                         status_code=200, response=[{"action": "talk", "text": "Hi"}],
                         latency_ms=12.5)

    html = client_for(personas["viewer"]).get(f"/calls/{call.pk}/").content.decode()
    timeline = html.split('id="timeline"')[1]
    assert timeline.count('class="event') == 4
    assert "2026-01-05 10:00:05.000" in timeline  # provider time, to the millisecond
    assert ">duplicate<" in timeline and ">out of order<" in timeline
    # the provider's file needs its credentials: never a link, only what became of our copy
    assert '<a href="https://api.nexmo.com/v1/files/aaaa-bbbb"' not in timeline
    assert "fetching…" in timeline or "not stored" in timeline
    assert "&quot;status&quot;: &quot;ringing&quot;" in timeline  # payloads, indented JSON
    assert "12.5 ms" in timeline and "&quot;action&quot;: &quot;talk&quot;" in timeline
    assert "Replay delivery" not in timeline
    admin_html = client_for(personas["admin"]).get(f"/calls/{call.pk}/").content.decode()
    assert "Replay delivery" in admin_html


def test_a_call_without_events_says_so(account, client_for, viewer_user):
    call = CallFactory(account=account, provider="vonage", to_display="+31201234567")
    html = client_for(viewer_user).get(f"/calls/{call.pk}/").content.decode()
    assert "No events yet" in html


def test_the_deliveries_log_is_live(rejected, account, client, client_for, operator_user):
    viewer = client_for(operator_user)
    since = settled_change(viewer, "/calls/deliveries/", "/calls/deliveries/live", "delivery-log")

    vonage_post(client, account, vonage_status("ringing", at="2026-01-05T10:00:07.000Z"),
                secret="the-secret-before-rotation-00000000")

    response = viewer.get("/calls/deliveries/live", {"since_change": since})
    html = response.content.decode()
    newest = WebhookDelivery.objects.latest("received_at", "id")
    assert html.lstrip().startswith('<div id="delivery-log"')
    assert f'<tr id="delivery-{newest.pk}" class="changed">' in html
