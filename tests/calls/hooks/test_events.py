"""Event webhooks through HTTP: every documented event of both families, signatures, bad input."""

import hashlib
import json
import time
from decimal import Decimal

import pytest

from calls.models import Call, CallEvent, CallStatus, WebhookDelivery
from tests.calls.webhook_helpers import (
    CALL_SID,
    CONVERSATION,
    UUID,
    body_of,
    the_call,
    vg_post,
    vg_status,
    vonage_post,
    vonage_status,
)
from tests.factories import ProviderAccountFactory
from tests.fakes.provider_accounts import (
    PREVIOUS_WEBHOOK_SECRET,
    jambonz_signed_headers,
    vonage_signed_headers,
)

pytestmark = pytest.mark.django_db

T = "2026-01-05T10:00:00.000Z"
# (name, payload, kind stored, call fields expected afterwards) — vonage.md 2.2-2.5.
VONAGE_EVENTS = [
    ("started", vonage_status("started"), "status", {"status": "submitted"}),
    ("ringing", vonage_status("ringing"), "status", {"status": "ringing"}),
    ("answered", vonage_status("answered", start_time=T, rate="0.01270000", network="23410"),
     "status", {"status": "answered", "rate": Decimal("0.0127"), "network": "23410"}),
    ("busy", vonage_status("busy"), "status", {"status": "busy"}),
    ("cancelled", vonage_status("cancelled"), "status", {"status": "cancelled"}),
    ("unanswered", vonage_status("unanswered", detail="unavailable"), "status",
     {"status": "no_answer", "failure_detail": "unavailable"}),
    ("timeout", vonage_status("timeout"), "status", {"status": "no_answer"}),
    ("rejected", vonage_status("rejected", detail="invalid_number"), "status",
     {"status": "rejected", "failure_detail": "invalid_number"}),
    ("failed", vonage_status("failed", detail="cannot_route"), "status",
     {"status": "failed", "failure_detail": "cannot_route"}),
    ("completed", vonage_status(
        "completed", start_time=T, end_time="2026-01-05T10:01:02.000Z", duration="62",
        rate="0.01270000", price="0.01312333", network="23410", disconnected_by="user",
        sip_code=200), "status",
     {"status": "completed", "duration_seconds": 62, "price": Decimal("0.01312333"),
      "disconnected_by": "user", "sip_code": 200}),
    ("amd human", {"call_uuid": UUID, "conversation_uuid": CONVERSATION, "status": "human",
                   "timestamp": T}, "amd", {"answered_by": "human"}),
    ("amd machine beep", {"call_uuid": UUID, "conversation_uuid": CONVERSATION,
                          "status": "machine", "sub_state": "beep_start", "timestamp": T},
     "amd", {"answered_by": "machine"}),
    ("disconnected", vonage_status("disconnected"), "disconnected", {"status": "queued"}),
    ("record", {"start_time": T, "end_time": "2026-01-05T10:00:30.000Z",
                "recording_url": "https://api.nexmo.com/v1/files/aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
                "recording_uuid": "b3f1c6a2-0000-4000-8000-000000000001", "size": 12222,
                "conversation_uuid": CONVERSATION, "timestamp": T}, "record", {}),
    ("transcription", {"status": "transcribed", "type": "record",
                       "recording_uuid": "b3f1c6a2-0000-4000-8000-000000000001",
                       "transcription_url": "https://api.nexmo.com/v1/files/tr-1",
                       "conversation_uuid": CONVERSATION, "timestamp": T},
     "transcription", {}),
    ("input dtmf", {"from": "447700900000", "to": "447700900001", "uuid": UUID,
                    "conversation_uuid": CONVERSATION, "timestamp": T,
                    "dtmf": {"digits": "42", "timed_out": True}}, "input", {}),
    ("input speech", {"from": "447700900000", "to": "447700900001", "uuid": UUID,
                      "conversation_uuid": CONVERSATION, "timestamp": T, "dtmf": {},
                      "speech": {"timeout_reason": "end_on_silence_timeout",
                                 "results": [{"text": "sales", "confidence": "0.92"}]}},
     "input", {}),
    ("transfer", {"conversation_uuid_from": CONVERSATION,
                  "conversation_uuid_to": "CON-2222", "uuid": UUID, "timestamp": T},
     "transfer", {}),
    ("notify", {"payload": {"step": "menu done"}, "conversation_uuid": CONVERSATION,
                "timestamp": T}, "notify", {}),
    ("error", {"reason": "Syntax error in NCCO. Invalid value type or action.",
               "conversation_uuid": CONVERSATION, "timestamp": T}, "error", {}),
    ("unknown status", vonage_status("something_new"), "unknown", {"status": "queued"}),
    ("unknown shape", {"uuid": UUID, "flavour": "new"}, "unknown", {}),
]


@pytest.mark.parametrize("kind", ["vonage", "kpn", "sandbox"])
@pytest.mark.parametrize(("name", "payload", "event_kind", "expected"), VONAGE_EVENTS,
                         ids=[case[0] for case in VONAGE_EVENTS])
def test_every_documented_vonage_event_is_stored_and_applied(
    client, kind, name, payload, event_kind, expected
):
    account = ProviderAccountFactory(**{kind: True})
    response = vonage_post(client, account, payload)

    assert response.status_code == 200
    assert response.content == b""
    event = CallEvent.objects.get()
    assert event.kind == event_kind
    assert event.payload == payload
    assert event.delivery.verified and event.delivery.applied_at is not None
    call = event.call  # a call Callboard did not place: created from the event
    assert call.account == account and call.provider == kind
    for field, value in expected.items():
        assert getattr(call, field) == value, field


def test_a_vonage_event_keeps_the_raw_status_and_the_parties(client):
    account = ProviderAccountFactory()
    vonage_post(client, account, vonage_status("unanswered", detail="unavailable"))

    call = the_call(account, UUID)
    assert (call.status, call.provider_status) == ("no_answer", "unanswered")
    assert (call.direction, call.from_number, call.to_display) == (
        "outbound", "447700900000", "447700900001")
    assert call.conversation_id == CONVERSATION


def test_vonage_get_events_are_verified_over_the_query_parameters(client):
    account = ProviderAccountFactory()
    params = {"uuid": UUID, "status": "ringing", "conversation_uuid": CONVERSATION,
              "timestamp": T, "direction": "inbound", "from": "447700900000"}
    query = "&".join(f"{k}={v}" for k, v in params.items())
    signed = hashlib.sha256(json.dumps(params, separators=(",", ":")).encode()).hexdigest()
    response = client.get(f"/hooks/{account.webhook_token}/events?{query}",
                          headers=vonage_signed_headers(b"", payload_hash=signed))

    assert response.status_code == 200
    call = the_call(account, UUID)
    assert (call.status, call.direction) == ("ringing", "inbound")


VG_STATUS_EVENTS = [
    ("queued", {}, {"status": "submitted"}),
    ("trying", {}, {"status": "submitted"}),
    ("ringing", {}, {"status": "ringing"}),
    ("early-media", {}, {"status": "ringing"}),
    ("in-progress", {}, {"status": "answered"}),
    ("completed", {"duration": 42, "call_termination_by": "caller"},
     {"status": "completed", "duration_seconds": 42, "disconnected_by": "caller"}),
    ("busy", {}, {"status": "busy", "sip_code": 486}),
    ("no-answer", {}, {"status": "no_answer", "sip_code": 487}),
    ("failed", {}, {"status": "failed", "sip_code": 503,
                    "failure_detail": "Service Unavailable"}),
]


@pytest.mark.parametrize(("call_status", "extra", "expected"), VG_STATUS_EVENTS,
                         ids=[case[0] for case in VG_STATUS_EVENTS])
def test_every_voice_gateway_call_status_is_applied(client, call_status, extra, expected):
    account = ProviderAccountFactory(voicegateway=True)
    response = vg_post(client, account, vg_status(call_status, **extra))

    assert response.status_code == 200
    assert response.content == b""  # the call_status_hook answer is ignored by jambonz
    event = CallEvent.objects.get()
    assert (event.kind, event.raw_status) == ("status", call_status)
    call = the_call(account, CALL_SID)
    assert call.provider_status == call_status
    for field, value in expected.items():
        assert getattr(call, field) == value, field


# (hook, extra fields, kind stored, answered_by) — jambonz.md 3.4 and 3.5.
VG_HOOK_EVENTS = [
    ("amd", {"type": "amd_human_detected", "reason": "short greeting", "greeting": "hello",
             "language": "en-US"}, "amd", "human"),
    ("amd", {"type": "amd_machine_detected", "reason": "long greeting",
             "greeting": "you have reached the voicemail of", "language": "en-US"},
     "amd", "machine"),
    ("amd", {"type": "amd_no_speech_detected"}, "amd", "unknown"),
    ("amd", {"type": "amd_decision_timeout"}, "amd", "unknown"),
    ("amd", {"type": "amd_machine_stopped_speaking"}, "amd", "machine"),
    ("amd", {"type": "amd_tone_detected", "frequency": 1000, "variance": 12}, "amd", "machine"),
    ("amd", {"type": "amd_error", "error": "stt failure"}, "amd", ""),
    ("amd", {"type": "amd_stopped"}, "amd", ""),
    ("action", {"reason": "dtmfDetected", "digits": "1"}, "input", ""),
    ("action", {"reason": "speechDetected", "speech": {"alternatives": [
        {"transcript": "sales", "confidence": 0.9}]}}, "input", ""),
    ("action", {"dial_call_status": "completed", "dial_sip_status": 200,
                "dial_call_sid": "c1", "dial_sbc_callid": "s1"}, "dial", ""),
    ("action", {}, "action", ""),
    ("dtmf", {"dtmf": "5", "duration": 250}, "input", ""),
    ("confirm", {}, "confirm", ""),
    ("refer", {"refer_details": {"sip_refer_to": "sip:+15083728301@example.com"}}, "refer", ""),
]


@pytest.mark.parametrize(("hook", "extra", "event_kind", "answered_by"), VG_HOOK_EVENTS,
                         ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(VG_HOOK_EVENTS)])
def test_voice_gateway_verb_hooks_are_recognised_and_answered_with_a_verb_array(
    client, hook, extra, event_kind, answered_by
):
    account = ProviderAccountFactory(voicegateway=True)
    response = vg_post(client, account, vg_status("in-progress", **extra), hook=hook)

    assert response.status_code == 200
    assert response.json() == []  # an empty verb array: the running application goes on
    event = CallEvent.objects.get()
    assert event.kind == event_kind
    call = event.call
    assert call.answered_by == answered_by
    # Only the status hook moves the status; hooks carry the call's fields as well.
    assert call.status == CallStatus.QUEUED


def test_an_unknown_voice_gateway_status_is_stored_as_unknown(client):
    account = ProviderAccountFactory(voicegateway=True)
    assert vg_post(client, account, vg_status("on-hold")).status_code == 200
    event = CallEvent.objects.get()
    assert (event.kind, event.raw_status, event.call.status) == ("unknown", "on-hold", "queued")


# -- signatures -------------------------------------------------------------------------


def assert_rejected(response, reason_start: str) -> WebhookDelivery:
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    delivery = WebhookDelivery.objects.get()
    assert not delivery.verified
    assert delivery.rejection_reason.startswith(reason_start), delivery.rejection_reason
    assert delivery.applied_at is None
    assert not Call.objects.exists() and not CallEvent.objects.exists()
    return delivery


def test_a_good_vonage_signature_is_accepted_and_the_jti_kept(client):
    account = ProviderAccountFactory()
    body = body_of(vonage_status("ringing"))
    headers = vonage_signed_headers(body, jti="jti-1")
    response = client.post(f"/hooks/{account.webhook_token}/events", data=body,
                           content_type="application/json", headers=headers)

    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert delivery.verified and delivery.replay_key == "jti-1"
    assert delivery.signed_at is not None


@pytest.mark.parametrize(("claims", "reason"), [
    ({"secret": "another-accounts-signature-secret-000000"}, "bad signature"),
    ({"iat": time.time() - 3600}, "expired"),
    ({"iat": time.time() + 3600}, "not yet valid"),
    ({"exp": time.time() - 120}, "expired"),
    ({"nbf": time.time() + 3600}, "not yet valid"),
    ({"iss": "Mallory"}, "wrong issuer"),
    ({"api_key": "someone-else"}, "wrong account"),
])
def test_bad_vonage_signatures_are_refused_kept_and_not_applied(client, claims, reason):
    account = ProviderAccountFactory()
    delivery = assert_rejected(vonage_post(client, account, vonage_status("ringing"), **claims),
                               reason)
    if reason == "expired":
        assert delivery.signed_at is not None  # the signing time, to diagnose clock skew
    body = body_of(vonage_status("ringing"))
    assert delivery.body_sha256 == hashlib.sha256(body).hexdigest()


def test_a_vonage_webhook_without_a_token_is_refused(client):
    account = ProviderAccountFactory()
    assert_rejected(vonage_post(client, account, vonage_status("ringing"), signed=False),
                    "missing signature")


def test_a_tampered_vonage_body_is_refused(client):
    account = ProviderAccountFactory()
    body = body_of(vonage_status("ringing"))
    headers = vonage_signed_headers(body)
    tampered = body.replace(b"ringing", b"answered")
    response = client.post(f"/hooks/{account.webhook_token}/events", data=tampered,
                           content_type="application/json", headers=headers)
    delivery = assert_rejected(response, "tampered")
    assert bytes(delivery.body) == tampered


def test_a_replayed_vonage_token_is_refused(client):
    account = ProviderAccountFactory()
    body = body_of(vonage_status("ringing"))
    headers = vonage_signed_headers(body)
    url = f"/hooks/{account.webhook_token}/events"
    first = client.post(url, data=body, content_type="application/json", headers=headers)
    again = client.post(url, data=body, content_type="application/json", headers=headers)

    assert (first.status_code, again.status_code) == (200, 401)
    replayed = WebhookDelivery.objects.filter(verified=False).get()
    assert replayed.rejection_reason.startswith("replayed")
    assert CallEvent.objects.count() == 1


def test_the_same_jti_on_another_account_is_not_a_replay(client):
    one, two = ProviderAccountFactory(name="one"), ProviderAccountFactory(name="two")
    body = body_of(vonage_status("ringing"))
    headers = vonage_signed_headers(body)
    for account in (one, two):
        response = client.post(f"/hooks/{account.webhook_token}/events", data=body,
                               content_type="application/json", headers=headers)
        assert response.status_code == 200


def test_kpn_without_a_signature_secret_relies_on_the_url_token(client):
    account = ProviderAccountFactory(kpn=True, signature_secret="")
    response = vonage_post(client, account, vonage_status("ringing"), signed=False)
    assert response.status_code == 200
    assert the_call(account, UUID).status == "ringing"


def test_voice_gateway_signatures_current_and_previous_secret_are_accepted(client):
    account = ProviderAccountFactory(voicegateway=True)
    assert vg_post(client, account, vg_status("ringing")).status_code == 200
    rotated = vg_post(client, account, vg_status("in-progress"), secret=PREVIOUS_WEBHOOK_SECRET)
    assert rotated.status_code == 200
    assert the_call(account, CALL_SID).status == "answered"


@pytest.mark.parametrize(("signing", "reason"), [
    ({"secret": "not-the-webhook-secret"}, "bad signature"),
    ({"t": int(time.time()) - 900}, "expired"),
])
def test_bad_voice_gateway_signatures_are_refused(client, signing, reason):
    account = ProviderAccountFactory(voicegateway=True)
    assert_rejected(vg_post(client, account, vg_status("ringing"), **signing), reason)


def test_voice_gateway_tampered_missing_and_replayed_signatures_are_refused(client):
    account = ProviderAccountFactory(voicegateway=True)
    url = f"/hooks/{account.webhook_token}/vg/status"
    body = body_of(vg_status("ringing"))
    headers = jambonz_signed_headers(body)
    tampered = client.post(url, data=body.replace(b"ringing", b"in-progress"),
                           content_type="application/json", headers=headers)
    missing = client.post(url, data=body, content_type="application/json")
    first = client.post(url, data=body, content_type="application/json", headers=headers)
    replayed = client.post(url, data=body, content_type="application/json", headers=headers)

    assert [r.status_code for r in (tampered, missing, first, replayed)] == [401, 401, 200, 401]
    reasons = list(WebhookDelivery.objects.filter(verified=False)
                   .order_by("id").values_list("rejection_reason", flat=True))
    assert [r.split(":")[0] for r in reasons] == ["bad signature", "missing signature",
                                                  "replayed"]
    assert CallEvent.objects.count() == 1


# -- the raw delivery -------------------------------------------------------------------


def test_the_raw_delivery_is_kept_without_secrets(client):
    account = ProviderAccountFactory(voicegateway=True)
    body = body_of(vg_status("ringing"))
    headers = {**jambonz_signed_headers(body), "Authorization": "Basic dXNlcjpwYXNz"}
    client.post(f"/hooks/{account.webhook_token}/vg/status?x=1", data=body,
                content_type="application/json", headers=headers)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.method, delivery.endpoint, delivery.query) == ("POST", "vg/status", "x=1")
    assert bytes(delivery.body) == body
    assert "Authorization" not in delivery.headers
    signature = delivery.headers["Jambonz-Signature"]
    assert signature.startswith("t=") and "••••" in signature
    assert headers["Jambonz-Signature"].split("v1=")[1] not in signature
    assert account.webhook_token not in delivery.path
    assert delivery.body_sha256 == hashlib.sha256(body).hexdigest()


def test_a_delivery_that_cannot_be_applied_is_kept_for_replay(client, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("calls.services.deliveries.call_event_record", broken)
    account = ProviderAccountFactory()
    response = vonage_post(client, account, vonage_status("ringing"))

    assert response.status_code == 500  # the provider retries once
    delivery = WebhookDelivery.objects.get()
    assert delivery.verified and delivery.applied_at is None
    assert delivery.apply_error == "RuntimeError: database went away"


def test_an_event_naming_no_call_is_kept_but_creates_nothing(client):
    account = ProviderAccountFactory()
    response = vonage_post(client, account, {"timestamp": T, "status": "ringing"})
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert delivery.applied_at is not None and "names no call" in delivery.apply_error
    assert not Call.objects.exists()


# -- bad input: always a 4xx, never a 500 -----------------------------------------------


def test_an_unknown_token_is_a_404_and_nothing_is_stored(client):
    ProviderAccountFactory()
    body = body_of(vonage_status("ringing"))
    for url in ("/hooks/not-a-token/events", "/hooks/not-a-token/vg/status"):
        response = client.post(url, data=body, content_type="application/json")
        assert response.status_code == 404
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(("body", "content_type", "status", "reason"), [
    (b'{"uuid": "x", "status": ', "application/json", 400, "malformed JSON"),
    (b"[1, 2, 3]", "application/json", 400, "not a JSON object"),
    (b"", "application/json", 400, "empty body"),
    (b"uuid=x&status=ringing", "application/x-www-form-urlencoded", 415, "not JSON"),
    (b'{"uuid": "x"}', "text/plain", 415, "not JSON"),
])
def test_bad_bodies_are_refused_with_a_4xx_and_kept(client, body, content_type, status, reason):
    account = ProviderAccountFactory()
    response = client.post(f"/hooks/{account.webhook_token}/events", data=body,
                           content_type=content_type, headers=vonage_signed_headers(body))
    assert response.status_code == status
    delivery = WebhookDelivery.objects.get()
    assert delivery.verified and delivery.rejection_reason.startswith(reason)
    assert delivery.applied_at is None and not CallEvent.objects.exists()


def test_an_oversized_body_is_a_413_and_is_not_kept(client):
    account = ProviderAccountFactory(voicegateway=True)
    body = body_of(vg_status("ringing", padding="x" * 300_000))
    response = vg_post(client, account, body)
    assert response.status_code == 413
    delivery = WebhookDelivery.objects.get()
    assert delivery.rejection_reason.startswith("too large") and bytes(delivery.body) == b""


def test_wrong_method_family_and_hook_name_are_4xx(client):
    vonage = ProviderAccountFactory(name="v")
    vg = ProviderAccountFactory(voicegateway=True, name="g")
    body = body_of(vg_status("ringing"))

    assert client.get(f"/hooks/{vg.webhook_token}/vg/status").status_code == 405
    assert client.put(f"/hooks/{vonage.webhook_token}/events").status_code == 405
    assert vg_post(client, vg, body, hook="nonsense").status_code == 404
    wrong = client.post(f"/hooks/{vonage.webhook_token}/vg/status", data=body,
                        content_type="application/json", headers=jambonz_signed_headers(body))
    assert wrong.status_code == 404
    assert WebhookDelivery.objects.get().rejection_reason.startswith("wrong endpoint")
