"""Notifications reach e-mail (Django's locmem backend), a Slack-compatible webhook and a
signed webhook (a real loopback receiver), and a failure is recorded, not raised."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from alerts.models import AlertNotification
from alerts.services import alert_channel_create, alert_notification_send
from portal.services import SYSTEM
from tests.factories import WEBHOOK_CHANNEL_SECRET, AlertChannelFactory, AlertFactory

pytestmark = pytest.mark.django_db


def _send(channel, event="fired") -> AlertNotification:
    alert = AlertFactory(rule__name="Webhooks refused", rule__threshold=5, subject="bad signature",
                         summary="5 webhook deliveries rejected (bad signature) in the last "
                                 "10 min", evidence_url="/calls/deliveries/?outcome=rejected")
    notification = AlertNotification.objects.create(alert=alert, channel=channel, event=event)
    return alert_notification_send(notification=notification)


def test_email_says_what_fired_and_links_the_evidence(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PUBLIC_BASE_URL = "https://callboard.example.com"
    sent = _send(AlertChannelFactory(kind="email", target="ops@example.com, oncall@example.com"))

    assert sent.sent_at is not None and sent.error == ""
    [message] = mail.outbox
    assert message.to == ["ops@example.com", "oncall@example.com"]
    assert message.subject.startswith("[FIRING] Webhooks refused: 5 webhook deliveries")
    assert ("Evidence: https://callboard.example.com/calls/deliveries/?outcome=rejected"
            in message.body)
    # The threshold with its unit, as the rules list shows it; it was a bare "5".
    assert "Rule: Webhooks refused (threshold 5 rejected deliveries, window 600 s)" in message.body


def test_resolved_email_says_resolved(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    _send(AlertChannelFactory(kind="email"), event="resolved")
    assert mail.outbox[0].subject.startswith("[RESOLVED] Webhooks refused")


def test_slack_gets_one_text_message(receiver):
    sent = _send(AlertChannelFactory(kind="slack", target=receiver.url))

    assert sent.sent_at is not None
    [request] = receiver.received
    text = json.loads(request.body)["text"]
    assert text.startswith("*[FIRING] Webhooks refused")
    assert "/calls/deliveries/?outcome=rejected" in text


def test_signed_webhook_verifies_by_the_standard_webhooks_rules(receiver):
    sent = _send(AlertChannelFactory(kind="webhook", target=receiver.url))

    assert sent.sent_at is not None
    [request] = receiver.received
    headers = {k.lower(): v for k, v in request.headers.items()}
    # The Standard Webhooks specification, computed here independently: the key is the
    # base64 after "whsec_", the signed content "id.timestamp.body".
    key = base64.b64decode(WEBHOOK_CHANNEL_SECRET.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + request.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    payload = json.loads(request.body)
    assert payload["type"] == "alert.fired"
    assert payload["data"]["rule"] == "Webhooks refused"
    assert payload["data"]["subject"] == "bad signature"
    assert payload["data"]["threshold"] == 5
    assert payload["data"]["threshold_unit"] == "rejected deliveries"


def test_a_receiver_that_fails_is_recorded_on_the_notification(receiver):
    receiver.behave = lambda n: (503, 0.0)
    sent = _send(AlertChannelFactory(kind="slack", target=receiver.url))

    assert sent.sent_at is None
    assert sent.error == "The receiver answered HTTP 503."


def test_a_receiver_that_answers_on_and_on_does_not_hold_the_sender(receiver):
    receiver.endless_answer = True
    sent = _send(AlertChannelFactory(kind="slack", target=receiver.url))

    assert sent.sent_at is not None and not sent.error
    assert receiver.hung_up.wait(5)  # the status was enough; the body was not read


def test_an_unreachable_receiver_is_recorded_too(receiver):
    sent = _send(AlertChannelFactory(kind="slack", target="http://127.0.0.1:9/hook"))

    assert sent.sent_at is None
    assert sent.error == "Could not reach 127.0.0.1:9 (ConnectionError)."


def test_a_channel_url_must_pass_the_outbound_checks(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    with pytest.raises(ValidationError) as refused:
        alert_channel_create(actor=SYSTEM, values={
            "name": "Internal", "kind": "webhook", "target": "http://10.1.2.3/alerts"})
    assert "target" in refused.value.message_dict


def test_a_new_signed_webhook_gets_a_secret_shown_once_and_stored_encrypted():
    channel, secret = alert_channel_create(actor=SYSTEM, values={
        "name": "Tools", "kind": "webhook", "target": "https://tools.example.com/alerts"})

    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 24
    assert secret not in channel.secret_encrypted and channel.secret_last4 == secret[-4:]
